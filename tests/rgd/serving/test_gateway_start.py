"""``rgd serve`` at start, on loopback: the registry down, a pool that shares no model with the router, a pool
whose only routable model is dead. Liveness is answered at once; readiness only when a request would succeed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import (  # noqa: E402
    GatewayProcess,
    chat_body,
    free_port,
    move_alias,
    register,
    stop_group,
    write_config,
)

NAME = "gw-start"
BIO = "which enzyme binds the cell membrane protein?"
OPEN = {"auth": {"required": False, "api_keys_env": None}}


def _uri(home: Path) -> str:
    return f"sqlite:///{home}/mlflow/mlflow.db"


@pytest.fixture(scope="module")
def registry(mlflow_home, bundle_dir):
    move_alias(NAME, register(bundle_dir, NAME, _uri(mlflow_home)))
    return mlflow_home


@pytest.fixture(scope="module")
def upstream():
    up = UpstreamProcess("any")
    yield up
    up.kill()


def _start(tmp_path, tracking_uri, pool, home, **kw) -> GatewayProcess:
    config = write_config(tmp_path / "gateway.yaml", model_name=NAME, tracking_uri=tracking_uri, pool=pool, **OPEN)
    return GatewayProcess(config, {"RGD_HOME": str(home)}, tmp_path / "gateway.log", **kw)


def _wait_ready(gw, timeout_s: float) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while (r := httpx.get(f"{gw.url}/readyz", timeout=5)).status_code != 200:
        assert time.monotonic() < deadline, f"not ready in {timeout_s} s: {r.text}\n{gw.log()[-2000:]}"
        time.sleep(0.3)
    return r


class MlflowServer:
    """``mlflow server`` on a loopback port over a SQLite store, stopped by its process group."""

    def __init__(self, backend_uri: str, port: int, workdir: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(workdir / "mlflow-server.log", "w")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", backend_uri,
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        stop_group(self.proc, self._log)


def test_a_pool_sharing_no_model_with_the_router_stops_the_gateway_naming_the_file_and_field(
        registry, upstream, tmp_path):
    pool = [{"name": "gpt-4o", "base_url": upstream.base_url}, {"name": "claude", "base_url": upstream.base_url}]
    t = time.monotonic()
    with pytest.raises(RuntimeError, match=r"gateway exited \(1\)") as err:
        _start(tmp_path, _uri(registry), pool, registry, timeout_s=90)
    assert time.monotonic() - t < 90
    message = str(err.value)
    assert f"Error: {tmp_path / 'gateway.yaml'}: pool: no pool model is one that {NAME} version 1 ranks" in message
    assert "the pool names gpt-4o, claude" in message and "Traceback" not in message


def test_not_ready_while_no_model_the_router_ranks_answers(registry, upstream, tmp_path):
    """The pool's only model the router ranks is down; another pool model, which the router never picks,
    answers. Every request would fail, so /readyz says not ready (it said ready: some upstream answered)."""
    pool = [{"name": "bio-expert", "base_url": f"http://127.0.0.1:{free_port()}/v1", "timeout_s": 1.0},
            {"name": "not-ranked", "base_url": upstream.base_url}]
    gw = _start(tmp_path, _uri(registry), pool, registry, wait_for="/healthz")
    try:
        deadline = time.monotonic() + 60
        while (r := httpx.get(f"{gw.url}/readyz", timeout=5)).json()["router_version"] is None:
            assert time.monotonic() < deadline, gw.log()[-2000:]
            time.sleep(0.2)
        assert r.status_code == 503 and r.json() == {
            "status": "no upstream reachable", "reason": "no_upstream_reachable", "router": NAME,
            "alias": "champion", "alias_version": "1", "router_version": "1"}
        assert httpx.post(f"{gw.url}/v1/chat/completions", content=chat_body(BIO), timeout=30).status_code == 502
        assert "ranks models the pool config does not name" in gw.log()
    finally:
        gw.stop()


def test_liveness_is_answered_at_once_with_the_registry_down_and_the_router_loads_when_it_is_back(
        registry, upstream, tmp_path):
    from tests.rgd.tracking.synthetic import MODELS

    port = free_port()  # nothing listens there yet: the registry is down
    pool = [{"name": m, "base_url": upstream.base_url} for m in MODELS]
    t = time.monotonic()
    gw = _start(tmp_path, f"http://127.0.0.1:{port}", pool, registry, wait_for="/healthz", timeout_s=60)
    server = None
    try:
        started_s = time.monotonic() - t
        r = httpx.get(f"{gw.url}/readyz", timeout=5)
        assert r.status_code == 503 and r.json()["status"].startswith("no router loaded"), r.text
        assert httpx.post(f"{gw.url}/v1/chat/completions", content=chat_body(BIO),
                          timeout=30).json()["error"]["code"] == "router_not_ready"
        server = MlflowServer(_uri(registry), port, tmp_path)
        r = _wait_ready(gw, 120)
        assert r.json()["router_version"] == "1"
        reply = httpx.post(f"{gw.url}/v1/chat/completions", content=chat_body(BIO), timeout=30)
        assert reply.status_code == 200 and reply.json()["rgd"]["router_version"] == "1"
        assert started_s < 60
    finally:
        gw.stop()
        if server is not None:
            server.stop()
