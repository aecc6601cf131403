"""``rgd serve`` as a real process on loopback, in front of fake upstream processes: every endpoint and mode,
streaming, failover, circuit breaker, 4xx pass-through, 401/413/429/400, hot reload (good and tampered)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import (  # noqa: E402
    GatewayProcess,
    chat_body,
    move_alias,
    register,
    write_config,
)
from tests.rgd.tracking.synthetic import MODELS, fit_bundle  # noqa: E402

NAME = "gw-router"
KEY, OTHER_KEY = "key-one-Zx81", "key-two-Qa07"
BIO = "which enzyme binds the cell membrane protein?"
HISTORY = "which treaty ended the war of the empire?"
ALGEBRA = "solve the quadratic equation polynomial root of the integer matrix"
OPEN_S = 3.0  # long enough that a loaded machine does not half-open a circuit mid-test
RETRY_REFUSED_S = 1.0  # a refused version the alias points at is tried again this often


def _uri(home: Path) -> str:
    return f"sqlite:///{home}/mlflow/mlflow.db"


@pytest.fixture(scope="module")
def upstreams():
    procs = {m: UpstreamProcess(m) for m in MODELS}
    yield procs
    for p in procs.values():
        p.kill()


@pytest.fixture(scope="module")
def registry(mlflow_home, bundle_dir):
    version = register(bundle_dir, NAME, _uri(mlflow_home))
    move_alias(NAME, version)
    return mlflow_home


def _pool(upstreams, **override):
    pool = []
    for i, (name, up) in enumerate(upstreams.items()):
        entry = {"name": name, "base_url": up.base_url, "model": f"{name}-upstream-id", "timeout_s": 1.0,
                 "cost": float(i + 1)}
        if name == "bio-expert":
            entry["api_key_env"] = "RGD_TEST_BIO_KEY"
        entry.update(override.get(name, {}))
        pool.append(entry)
    return pool


def _env(home: Path) -> dict[str, str]:
    return {"RGD_TEST_GATEWAY_KEYS": f"{KEY},{OTHER_KEY}", "RGD_TEST_BIO_KEY": "bio-upstream-secret",
            "RGD_HOME": str(home), "MLFLOW_TRACKING_URI": _uri(home)}


@pytest.fixture(scope="module")
def gateway(registry, upstreams, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway")
    config = write_config(
        tmp / "gateway.yaml", model_name=NAME, tracking_uri=_uri(registry), pool=_pool(upstreams),
        auth={"api_keys_env": "RGD_TEST_GATEWAY_KEYS"}, rate_limit={"requests_per_s": 1000, "burst": 2000},
        breaker={"failure_threshold": 2, "open_s": OPEN_S}, routing={"max_k": 4}, server={"max_body_bytes": 20000},
        registry={"retry_refused_s": RETRY_REFUSED_S},
    )
    gw = GatewayProcess(config, _env(registry), tmp / "gateway.log")
    yield gw
    gw.stop()


@pytest.fixture
def healthy(gateway, upstreams):
    """Every live upstream answers normally and no circuit is open."""
    for up in upstreams.values():
        if up.proc.poll() is None:
            up.control(mode="ok", latency_ms=0, answer="", compress=None)
    deadline = time.monotonic() + 10
    while any(p["circuit"] == "open" for p in _models(gateway)["rgd"]["pool"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return gateway


def _post(gw, body: bytes, key: str | None = KEY, **headers) -> httpx.Response:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(f"{gw.url}/v1/chat/completions", content=body,
                      headers={"Content-Type": "application/json", **headers}, timeout=30)


def _stream(gw, body: bytes) -> tuple[httpx.Response, list[str]]:
    """A streaming request's response and its events (the ``data:`` lines' payloads)."""
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", content=body, timeout=30,
                      headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}) as r:
        return r, [line[6:] for line in r.iter_lines() if line.startswith("data: ")]


def _models(gw) -> dict:
    r = httpx.get(f"{gw.url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _ranking(gw, question: str) -> list[str]:
    r = _post(gw, chat_body(question))
    assert r.status_code == 200, r.text
    return r.json()["rgd"]["ranking"]


def _metric(text: str, metric: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(metric + "{") or line.startswith(metric + " "):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


# ---------------------------------------------------------------------------------------------- endpoints
def test_health_readiness_and_metrics(healthy):
    assert httpx.get(f"{healthy.url}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{healthy.url}/readyz")
    assert r.status_code == 200 and r.json()["router_version"] == "1"
    _post(healthy, chat_body(BIO))
    text = healthy.metrics()
    assert _metric(text, "rgd_gateway_router_version", name=NAME, version="1") == 1.0
    assert _metric(text, "rgd_gateway_embedder_precision", precision="float32") == 1.0  # TF-IDF
    assert _metric(text, "rgd_gateway_requests_total", mode="top1", status="200") >= 1
    assert _metric(text, "rgd_gateway_chosen_model_total", model="bio-expert", mode="top1") >= 1
    assert "rgd_gateway_request_seconds_bucket" in text and "rgd_gateway_upstream_seconds_bucket" in text


def test_models_lists_the_modes_and_the_pool_with_costs(healthy):
    doc = _models(healthy)
    assert [m["id"] for m in doc["data"]] == ["rgd-router", "rgd-router:top2", "rgd-router:top3", "rgd-router:top4"]
    pool = {p["name"]: p for p in doc["rgd"]["pool"]}
    assert set(pool) == set(MODELS) and pool["bio-expert"]["upstream_model"] == "bio-expert-upstream-id"
    assert [p["cost"] for p in doc["rgd"]["pool"]] == [1.0, 2.0, 3.0, 4.0]
    assert doc["rgd"]["router_version"] == "1"


def test_top1_forwards_to_the_first_ranked_model_with_its_upstream_id_and_key(healthy, upstreams):
    for question, expert in ((BIO, "bio-expert"), (HISTORY, "history-expert"), (ALGEBRA, "math-expert")):
        r = _post(healthy, chat_body(question, max_tokens=5))
        assert r.status_code == 200, r.text
        doc = r.json()
        assert r.headers["x-rgd-model"] == expert == doc["rgd"]["model"] == doc["rgd"]["ranking"][0]
        assert r.headers["x-rgd-router-version"] == "1" == doc["rgd"]["router_version"]
        assert r.headers["x-rgd-ranking"].split(",") == doc["rgd"]["ranking"] and len(doc["rgd"]["ranking"]) == 4
        assert doc["choices"][0]["message"]["content"] == f"Hello from {expert}."
    seen = upstreams["bio-expert"].stats()
    assert seen["last_body"]["model"] == "bio-expert-upstream-id" and seen["last_body"]["max_tokens"] == 5
    assert seen["last_auth"] == "Bearer bio-upstream-secret"  # the upstream's key, from its env var
    assert upstreams["math-expert"].stats()["last_auth"] is None  # not the client's key


def test_the_openai_sdk_talks_to_the_gateway(healthy):
    import openai

    client = openai.OpenAI(base_url=f"{healthy.url}/v1", api_key=KEY, max_retries=0)
    assert "rgd-router" in [m.id for m in client.models.list()]
    out = client.chat.completions.create(model="rgd-router", messages=[{"role": "user", "content": HISTORY}])
    assert out.choices[0].message.content == "Hello from history-expert."
    chunks = list(client.chat.completions.create(
        model="rgd-router", messages=[{"role": "user", "content": HISTORY}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from history-expert."


def test_streaming_is_passed_through_with_the_routing_first(healthy):
    with httpx.stream("POST", f"{healthy.url}/v1/chat/completions", content=chat_body(BIO, stream=True),
                      headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-rgd-model"] == "bio-expert"
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    first = json.loads(events[0])
    assert first["choices"] == [] and first["rgd"]["model"] == "bio-expert" and first["rgd"]["router_version"] == "1"
    assert first["rgd"]["cost_weight"] == 0.0 and "warning" not in first["rgd"]
    text = "".join(json.loads(e)["choices"][0]["delta"]["content"] for e in events[1:-1])
    assert text == "Hello from bio-expert."


@pytest.mark.parametrize("encoding", ["gzip", "deflate", pytest.param("br", marks=pytest.mark.skipif(
    importlib.util.find_spec("brotli") is None, reason="aiohttp decodes br only with Brotli (the 'serve' extra)"))])
def test_a_compressing_upstream_is_decoded_for_plain_and_streaming_requests(healthy, upstreams, encoding):
    upstreams["bio-expert"].control(compress=encoding)
    r = _post(healthy, chat_body(BIO))
    assert r.status_code == 200, r.text
    assert r.json()["rgd"]["model"] == "bio-expert" and "failovers" not in r.json()["rgd"]
    assert r.json()["choices"][0]["message"]["content"] == "Hello from bio-expert."
    assert "content-encoding" not in r.headers  # what the client gets is the decoded reply
    r, events = _stream(healthy, chat_body(BIO, stream=True))
    assert r.status_code == 200 and r.headers["x-rgd-model"] == "bio-expert" and events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"]["content"] for e in events[1:-1])
    assert text == "Hello from bio-expert."


def test_a_stream_that_breaks_midway_ends_with_an_error_event(healthy, upstreams):
    """The upstream drops the connection after two chunks and half a third: the client gets the two whole
    chunks, then an error event (the OpenAI SDK raises it), never a clean-looking end."""
    import openai

    upstreams["bio-expert"].control(mode="stream_break")
    r, events = _stream(healthy, chat_body(BIO, stream=True))
    assert r.status_code == 200 and r.headers["x-rgd-model"] == "bio-expert"
    docs = [json.loads(e) for e in events]  # every event is whole: the half chunk was dropped
    assert [d["choices"][0]["delta"]["content"] for d in docs[1:-1]] == ["Hello", " from"]
    error = docs[-1]["error"]
    assert error["code"] == "stream_broken" and "bio-expert" in error["message"] and "[DONE]" not in events
    client = openai.OpenAI(base_url=f"{healthy.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIError, match="broke midway"):
        list(client.chat.completions.create(model="rgd-router", messages=[{"role": "user", "content": BIO}],
                                            stream=True))
    assert _metric(healthy.metrics(), "rgd_gateway_upstream_errors_total", model="bio-expert",
                   kind="stream_broken") >= 2


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_stream_that_ends_cleanly_without_done_ends_with_an_error_event(healthy, upstreams, encoding):
    """The upstream sends two chunks and half a third, then ends its HTTP response normally: nothing at the
    transport says the answer is cut, only the missing ``data: [DONE]``. The client gets the two whole chunks
    and an error event (the OpenAI SDK raises it), not a clean-looking end."""
    import openai

    upstreams["bio-expert"].control(mode="stream_cut", compress=encoding)
    r, events = _stream(healthy, chat_body(BIO, stream=True))
    assert r.status_code == 200 and r.headers["x-rgd-model"] == "bio-expert"
    docs = [json.loads(e) for e in events]
    assert [d["choices"][0]["delta"]["content"] for d in docs[1:-1]] == ["Hello", " from"]
    error = docs[-1]["error"]
    assert error["code"] == "stream_broken" and "[DONE]" not in events
    assert "bio-expert ended without its closing data: [DONE]" in error["message"]
    client = openai.OpenAI(base_url=f"{healthy.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIError, match="ended without its closing"):
        list(client.chat.completions.create(model="rgd-router", messages=[{"role": "user", "content": BIO}],
                                            stream=True))
    assert "stream from bio-expert ended without data: [DONE]" in healthy.log()


def test_an_unknown_question_is_answered_with_a_warning_in_the_routing(healthy):
    r = _post(healthy, chat_body("zzzz qqqq xxxx"))
    assert r.status_code == 200, r.text
    assert "shares nothing with what the router was trained on" in r.json()["rgd"]["warning"]
    assert "warning" not in _post(healthy, chat_body(BIO)).json()["rgd"]


def _ood_count(gw) -> float:
    line = next(x for x in httpx.get(f"{gw.url}/metrics").text.splitlines()
                if x.startswith("rgd_gateway_out_of_distribution_total "))
    return float(line.split()[1])


def test_a_question_far_from_every_training_cluster_is_flagged_in_the_headers(healthy):
    before = _ood_count(healthy)
    far = _post(healthy, chat_body("zebra xylophone saxophone"))
    assert far.status_code == 200, far.text
    assert far.headers["x-rgd-out-of-distribution"] == "true"
    assert float(far.headers["x-rgd-training-similarity"]) == 0.0
    info = far.json()["rgd"]
    assert info["out_of_distribution"] is True and info["note"].startswith("out of distribution")
    assert _ood_count(healthy) == before + 1
    known = _post(healthy, chat_body(BIO))
    assert known.headers["x-rgd-out-of-distribution"] == "false"
    assert float(known.headers["x-rgd-training-similarity"]) > 0.3
    assert known.json()["rgd"]["out_of_distribution"] is False and "note" not in known.json()["rgd"]
    r, events = _stream(healthy, chat_body("zebra xylophone saxophone", stream=True))
    assert r.headers["x-rgd-out-of-distribution"] == "true" and json.loads(events[0])["rgd"]["out_of_distribution"]
    assert _ood_count(healthy) == before + 2


def test_topk_returns_the_majority_response_with_the_votes(healthy, upstreams):
    ranking = _ranking(healthy, ALGEBRA)
    answers = dict(zip(ranking, ["A", "B", "B", "C"]))
    for model, letter in answers.items():
        upstreams[model].control(answer=letter)
    question = ALGEBRA + "\nA. 1\nB. 2\nC. 3\nD. 4"
    r = _post(healthy, chat_body(question, model="rgd-router:top3"))
    assert r.status_code == 200, r.text
    doc = r.json()
    consensus = doc["rgd"]["consensus"]
    assert consensus["answer"] == "B" and consensus["consensus"] == "majority"
    assert [(v["model"], v["answer"]) for v in consensus["votes"]] == [(m, answers[m]) for m in ranking[:3]]
    # the majority's best-ranked voter answers; the first-ranked model was outvoted
    assert doc["rgd"]["model"] == ranking[1] == r.headers["x-rgd-model"] and r.headers["x-rgd-mode"] == "top3"
    assert doc["choices"][0]["message"]["content"] == f"{ranking[1]} thinks. The answer is (B)."
    # a tie (A vs B with k=2) goes to the higher-ranked model; the extra request field selects the mode too
    r = _post(healthy, chat_body(question, rgd_mode="top2"))
    assert r.json()["rgd"]["consensus"]["answer"] == "A" and r.json()["rgd"]["model"] == ranking[0]


def test_topk_without_extractable_answers_returns_the_first_ranked_response(healthy, upstreams):
    ranking = _ranking(healthy, HISTORY)
    r = _post(healthy, chat_body(HISTORY, model="rgd-router:top3"))
    doc = r.json()
    assert doc["rgd"]["model"] == ranking[0]
    assert doc["rgd"]["consensus"]["consensus"].startswith("no_answer_extracted")
    assert [v["answer"] for v in doc["rgd"]["consensus"]["votes"]] == [None, None, None]


# ---------------------------------------------------------------------------------------------- failover
def test_5xx_fails_over_and_the_circuit_opens_then_recovers(healthy, upstreams):
    first, second = _ranking(healthy, BIO)[:2]
    upstreams[first].control(mode="error500")
    before = upstreams[first].stats()["requests"]
    for _ in range(2):  # failure_threshold = 2
        r = _post(healthy, chat_body(BIO))
        assert r.status_code == 200 and r.json()["rgd"]["model"] == second
        assert "5xx" in r.json()["rgd"]["failovers"][0]
    assert upstreams[first].stats()["requests"] == before + 2
    # open: the failing upstream gets nothing, the next-ranked model answers without a failover
    r = _post(healthy, chat_body(BIO))
    assert r.json()["rgd"]["model"] == second and "failovers" not in r.json()["rgd"]
    assert upstreams[first].stats()["requests"] == before + 2
    text = healthy.metrics()
    assert _metric(text, "rgd_gateway_breaker_open", model=first) == 1.0
    assert _metric(text, "rgd_gateway_failovers_total", model=first) >= 2
    assert _metric(text, "rgd_gateway_upstream_errors_total", model=first, kind="5xx") >= 2
    # healed upstream + open_s later: one trial request closes the circuit again
    upstreams[first].control(mode="ok")
    time.sleep(OPEN_S + 0.2)
    r = _post(healthy, chat_body(BIO))
    assert r.json()["rgd"]["model"] == first
    assert _metric(healthy.metrics(), "rgd_gateway_breaker_open", model=first) == 0.0


def test_a_stream_fails_over_before_its_first_byte(healthy, upstreams):
    """A 5xx to a streaming request moves it to the next-ranked model, which streams; the routing chunk
    names the failover."""
    first, second = _ranking(healthy, BIO)[:2]
    upstreams[first].control(mode="error500")
    with httpx.stream("POST", f"{healthy.url}/v1/chat/completions", content=chat_body(BIO, stream=True),
                      headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}) as r:
        assert r.status_code == 200 and r.headers["x-rgd-model"] == second
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    routing = json.loads(events[0])["rgd"]
    assert routing["model"] == second and "5xx" in routing["failovers"][0] and events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"]["content"] for e in events[1:-1])
    assert text == f"Hello from {second}."


def test_a_timeout_fails_over_to_the_next_ranked_model(healthy, upstreams):
    first, second = _ranking(healthy, HISTORY)[:2]
    upstreams[first].control(latency_ms=2500)  # timeout_s = 1
    t = time.monotonic()
    r = _post(healthy, chat_body(HISTORY))
    assert r.status_code == 200 and r.json()["rgd"]["model"] == second
    assert "timeout" in r.json()["rgd"]["failovers"][0] and time.monotonic() - t < 2.4


def test_a_failing_voter_is_replaced_by_the_next_ranked_model(healthy, upstreams):
    ranking = _ranking(healthy, ALGEBRA)
    upstreams[ranking[1]].control(mode="error500")
    r = _post(healthy, chat_body(ALGEBRA, model="rgd-router:top2"))
    votes = [v["model"] for v in r.json()["rgd"]["consensus"]["votes"]]
    assert votes == [ranking[0], ranking[2]]


@pytest.mark.parametrize("stream", [False, True])
def test_a_4xx_is_passed_through_without_failover(healthy, upstreams, stream):
    first, second = _ranking(healthy, BIO)[:2]
    upstreams[first].control(mode="error400")
    before = upstreams[second].stats()["requests"]
    r = _post(healthy, chat_body(BIO, stream=True) if stream else chat_body(BIO))
    assert r.status_code == 400 and r.json()["error"]["message"] == f"{first} refuses"
    assert r.headers["x-rgd-model"] == first
    assert upstreams[second].stats()["requests"] == before
    metrics = httpx.get(f"{healthy.url}/metrics").text
    assert f'rgd_gateway_upstream_errors_total{{kind="4xx",model="{first}"}}' in metrics


def test_every_model_failing_gives_a_502_openai_error(healthy, upstreams):
    for up in upstreams.values():
        up.control(mode="error500")
    r = _post(healthy, chat_body(BIO))
    assert r.status_code == 502
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "all_upstreams_failed"
    assert all(m in err["message"] for m in MODELS)
    assert _post(healthy, chat_body(BIO)).status_code == 502  # failure_threshold = 2: every circuit opens
    r = httpx.get(f"{healthy.url}/readyz")  # upstreams that answer HTTP, but no request would succeed
    assert r.status_code == 503 and r.json()["status"] == "the circuit of every pool model the router ranks is open"


def test_a_killed_upstream_fails_over_on_the_refused_connection(healthy, upstreams):
    first, second = _ranking(healthy, HISTORY)[:2]
    upstreams[first].kill()
    r = _post(healthy, chat_body(HISTORY))
    assert r.status_code == 200 and r.json()["rgd"]["model"] == second
    assert "connect" in r.json()["rgd"]["failovers"][0]
    assert httpx.get(f"{healthy.url}/readyz").status_code == 200  # the others still answer


# ---------------------------------------------------------------------------------------------- bad input
def test_client_keys_are_required(healthy):
    for key in (None, "wrong-key", KEY[:-1]):
        r = _post(healthy, chat_body(BIO), key=key)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{healthy.url}/v1/models").status_code == 401
    assert _post(healthy, chat_body(BIO), key=OTHER_KEY).status_code == 200


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (json.dumps({"model": "rgd-router"}).encode(), "missing_messages"),
        (json.dumps({"model": "rgd-router", "messages": []}).encode(), "missing_messages"),
        (json.dumps({"model": "rgd-router", "messages": [{"role": "system", "content": "hi"}]}).encode(),
         "invalid_messages"),
        (chat_body(BIO, model="gpt-4o"), "unknown_mode"),
        (chat_body(BIO, model="rgd-router:top9"), "unknown_mode"),
        (chat_body(BIO, model="rgd-router:top" + "9" * 5000), "unknown_mode"),  # past int()'s 4300 digits
        (chat_body(BIO, rgd_mode="best"), "unknown_mode"),
        (chat_body(BIO, model="rgd-router:top3", stream=True), "unsupported_mode"),
        (chat_body(BIO, rgd_cost_weight=1.5), "invalid_cost_weight"),
        (chat_body(BIO, rgd_cost_weight="cheap"), "invalid_cost_weight"),
        # in range, but this router was registered without a cost policy
        (chat_body(BIO, rgd_cost_weight=0.5), "invalid_cost_weight"),
    ],
)
def test_bad_requests_get_openai_style_400s(healthy, body, code):
    r = _post(healthy, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["type"] == "invalid_request_error"


def test_a_body_over_the_limit_gets_413(healthy):
    r = _post(healthy, chat_body("x" * 30000))
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_prompts_stay_out_of_the_log(healthy):
    secret = "which enzyme binds the secret membrane protein zebra-42?"
    assert _post(healthy, chat_body(secret)).status_code == 200
    assert "zebra-42" not in healthy.log()


# ---------------------------------------------------------------------------------------------- hot reload
def test_hot_reload_serves_a_new_version_without_dropping_requests(healthy, registry, tmp_path):
    version = register(fit_bundle("best_single").save(tmp_path / "v2"), NAME, _uri(registry))

    def call(_):
        return _post(healthy, chat_body(ALGEBRA))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call, i) for i in range(8)]
        move_alias(NAME, version)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            futures += [pool.submit(call, i) for i in range(4)]
            if _post(healthy, chat_body(ALGEBRA)).headers["x-rgd-router-version"] == version:
                break
            time.sleep(0.2)
        replies = [f.result() for f in futures]
    assert all(r.status_code == 200 for r in replies)
    assert _post(healthy, chat_body(BIO)).json()["rgd"]["router_version"] == version
    assert _metric(healthy.metrics(), "rgd_gateway_router_version", name=NAME, version=version) == 1.0
    assert _metric(healthy.metrics(), "rgd_gateway_reloads_total", result="loaded") >= 2


def _store_bundle(version: str) -> Path:
    import mlflow

    source = mlflow.MlflowClient().get_model_version_download_uri(NAME, version)
    (manifest,) = Path(source.removeprefix("file://")).rglob("manifest.json")
    return manifest.parent


def _wait_for_log(gw, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in gw.log():
        assert time.monotonic() < deadline, gw.log()[-2000:]
        time.sleep(0.2)


def test_a_tampered_version_is_refused_the_old_one_keeps_serving_unready_until_it_is_repaired(
        healthy, registry, tmp_path):
    serving = _post(healthy, chat_body(BIO)).json()["rgd"]["router_version"]
    refused_before = _metric(healthy.metrics(), "rgd_gateway_reloads_total", result="refused")
    # 1. a byte flipped in the artifact store: the manifest's sha256 no longer matches
    bad = register(fit_bundle("cascal", seed=1).save(tmp_path / "v3"), NAME, _uri(registry))
    (arrays,) = _store_bundle(bad).glob("router/arrays.npz")
    data = bytearray(arrays.read_bytes())
    data[100] ^= 0xFF
    arrays.write_bytes(bytes(data))
    move_alias(NAME, bad)
    _wait_for_log(healthy, f"version {bad} refused")
    r = _post(healthy, chat_body(BIO))
    assert r.status_code == 200 and r.json()["rgd"]["router_version"] == serving
    assert f"version {bad} refused" in healthy.log() and "modified after it was written" in healthy.log()
    # 2. the whole bundle swapped for another valid one (manifest included): the registered hash catches it
    worse = register(fit_bundle("cascal", seed=2).save(tmp_path / "v4"), NAME, _uri(registry))
    store = _store_bundle(worse)
    shutil.copytree(store, tmp_path / "v4-as-stored")
    shutil.rmtree(store)
    fit_bundle("best_single").save(store)
    move_alias(NAME, worse)
    _wait_for_log(healthy, f"v{worse}: bundle content")
    assert _post(healthy, chat_body(BIO)).json()["rgd"]["router_version"] == serving
    assert "does not match the registered bundle_sha256" in healthy.log()
    assert _metric(healthy.metrics(), "rgd_gateway_reloads_total", result="refused") >= refused_before + 2
    # the old version answers, but no alias points at it: not ready, saying which alias, version and why
    r = httpx.get(f"{healthy.url}/readyz")
    assert r.status_code == 503 and r.json()["router_version"] == serving
    body = r.json()
    assert body["reason"] == "alias_version_refused" and body["alias"] == "champion" and body["router"] == NAME
    assert body["alias_version"] == body["refused"]["version"] == worse
    assert "does not match the registered bundle_sha256" in body["refused"]["error"]
    assert body["status"].startswith(f"the alias champion of {NAME} points at version {worse}, which this gateway "
                                     "refused: ")
    assert f"Version {serving} keeps answering requests until version {worse} loads" in body["status"]
    # 3. the artifacts repaired in place: the refused version is tried again, served, and the gateway is ready
    shutil.rmtree(store)
    shutil.copytree(tmp_path / "v4-as-stored", store)
    deadline = time.monotonic() + 30
    while (r := httpx.get(f"{healthy.url}/readyz")).status_code != 200:
        assert time.monotonic() < deadline, f"{r.text}\n{healthy.log()[-2000:]}"
        time.sleep(0.2)
    assert r.json()["router_version"] == worse == _post(healthy, chat_body(BIO)).json()["rgd"]["router_version"]
