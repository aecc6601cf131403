"""A gateway with a tight per-key rate limit: 429 with Retry-After, per key, and the bucket refills."""

from __future__ import annotations

import time

import pytest

httpx = pytest.importorskip("httpx")

from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import GatewayProcess, chat_body, move_alias, register, write_config  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS  # noqa: E402

NAME = "gw-limits"


@pytest.fixture(scope="module")
def gateway(mlflow_home, bundle_dir, tmp_path_factory):
    uri = f"sqlite:///{mlflow_home}/mlflow/mlflow.db"
    move_alias(NAME, register(bundle_dir, NAME, uri))
    upstream = UpstreamProcess("any")
    tmp = tmp_path_factory.mktemp("limits")
    config = write_config(
        tmp / "gateway.yaml", model_name=NAME, tracking_uri=uri,
        pool=[{"name": m, "base_url": upstream.base_url} for m in MODELS],
        auth={"api_keys_env": "RGD_TEST_LIMIT_KEYS"}, rate_limit={"requests_per_s": 0.25, "burst": 3},
    )
    gw = GatewayProcess(config, {"RGD_TEST_LIMIT_KEYS": "slow-a,slow-b", "RGD_HOME": str(mlflow_home)},
                        tmp / "gateway.log")
    gw.upstream = upstream
    yield gw
    gw.stop()
    upstream.kill()


def _post(gw, key):
    return httpx.post(f"{gw.url}/v1/chat/completions", content=chat_body("which enzyme binds the cell protein?"),
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_key_past_its_burst_gets_429_with_retry_after_and_others_do_not(gateway):
    statuses = [_post(gateway, "slow-a").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    r = _post(gateway, "slow-a")
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    assert int(r.headers["retry-after"]) >= 1
    assert _post(gateway, "slow-b").status_code == 200  # another key has its own bucket
    time.sleep(float(r.headers["retry-after"]) + 0.1)
    assert _post(gateway, "slow-a").status_code == 200
    assert "rgd_gateway_rate_limited_total 1.0" in httpx.get(f"{gateway.url}/metrics").text


def test_not_ready_when_no_upstream_answers(gateway):
    assert httpx.get(f"{gateway.url}/readyz").status_code == 200
    gateway.upstream.kill()
    deadline = time.monotonic() + 10
    while (r := httpx.get(f"{gateway.url}/readyz")).status_code == 200:
        assert time.monotonic() < deadline, "still ready with its only upstream dead"
        time.sleep(0.3)
    assert r.status_code == 503 and r.json()["status"] == "no upstream reachable"
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200  # alive, just not ready
