"""The gateway in front of a real llama.cpp server (xllamacpp, the backend tests' server): top-1, stream, top-2."""

from __future__ import annotations

import json

import pytest

httpx = pytest.importorskip("httpx")

from tests.rgd.serving.gateway_process import GatewayProcess, chat_body, move_alias, register, write_config  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS  # noqa: E402

NAME = "gw-llamacpp"
QUESTION = "Which organ pumps blood through the cell membrane protein enzyme?\nA. Heart\nB. Liver\nC. Lung"


@pytest.fixture(scope="module")
def gateway(mlflow_home, bundle_dir, llamacpp_base_url, tmp_path_factory):
    uri = f"sqlite:///{mlflow_home}/mlflow/mlflow.db"
    move_alias(NAME, register(bundle_dir, NAME, uri))
    tmp = tmp_path_factory.mktemp("llamacpp")
    config = write_config(
        tmp / "gateway.yaml", model_name=NAME, tracking_uri=uri,
        pool=[{"name": m, "base_url": llamacpp_base_url, "model": "gemma-3-270m", "timeout_s": 120} for m in MODELS],
        auth={"api_keys_env": "RGD_TEST_LLAMA_KEYS"},
    )
    gw = GatewayProcess(config, {"RGD_TEST_LLAMA_KEYS": "llama-key", "RGD_HOME": str(mlflow_home)}, tmp / "gw.log")
    yield gw
    gw.stop()


HEADERS = {"Authorization": "Bearer llama-key", "Content-Type": "application/json"}


def test_top1_through_the_real_server(gateway):
    r = httpx.post(f"{gateway.url}/v1/chat/completions", headers=HEADERS, timeout=180,
                   content=chat_body(QUESTION, max_tokens=16, temperature=0))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert isinstance(doc["choices"][0]["message"]["content"], str) and doc["choices"][0]["message"]["content"]
    assert doc["usage"]["completion_tokens"] >= 1
    assert doc["rgd"]["model"] == doc["rgd"]["ranking"][0] == "bio-expert" == r.headers["x-rgd-model"]


def test_streaming_through_the_real_server(gateway):
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", headers=HEADERS, timeout=180,
                      content=chat_body(QUESTION, max_tokens=12, temperature=0, stream=True)) as r:
        assert r.status_code == 200
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[0])["rgd"]["model"] == "bio-expert"
    deltas = [json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[1:-1]
              if json.loads(e).get("choices")]
    assert len(deltas) >= 2 and "".join(deltas).strip()


def test_consensus_through_the_real_server(gateway):
    r = httpx.post(f"{gateway.url}/v1/chat/completions", headers=HEADERS, timeout=300,
                   content=chat_body(QUESTION, model="rgd-router:top2", max_tokens=16, temperature=0))
    assert r.status_code == 200, r.text
    consensus = r.json()["rgd"]["consensus"]
    assert [v["model"] for v in consensus["votes"]] == r.json()["rgd"]["ranking"][:2]
    assert all(v["answer"] in (None, "A", "B", "C") for v in consensus["votes"])
    # greedy decoding of one model: both voters give the same text, hence the same (or no) answer
    assert len({v["answer"] for v in consensus["votes"]}) == 1
