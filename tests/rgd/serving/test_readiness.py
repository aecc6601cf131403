"""/readyz's rule, in process against a fake registry: ready means a request would succeed with the version the
alias names. A refused version the alias points at makes the gateway unready (the body names the alias, the
version and why, and says the last good version keeps answering); a version still loading and a registry that
cannot be read do not; a repaired version is tried again and served. Also the SSE relay's end of stream."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time

import pytest

pytest.importorskip("fastapi")

from rgd.errors import ArtifactError  # noqa: E402
from rgd.serving.app import Gateway  # noqa: E402
from rgd.serving.config import parse_gateway_config  # noqa: E402
from rgd.serving.sse import relay  # noqa: E402
from rgd.serving.upstream import Upstream  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS, fit_bundle  # noqa: E402

RETRY_S = 1.0  # long enough that nothing but the wait below passes it on a loaded machine


class FakeRegistry:
    """``alias`` points at a version; ``store`` maps versions to a bundle or the error loading it raises."""

    name = "r"

    def __init__(self) -> None:
        self.alias: str = "1"
        self.store: dict[str, object] = {}
        self.down = False
        self.loads: list[str] = []
        self.gate: dict[str, threading.Event] = {}  # a version whose load waits for its event

    def current_version(self) -> str:
        if self.down:
            raise ConnectionError("registry unreachable")
        return self.alias

    def load(self, version: str):
        self.loads.append(version)
        if version in self.gate:
            self.gate[version].wait(10)
        found = self.store[version]
        if isinstance(found, Exception):
            raise found
        return found


@pytest.fixture
def gateway(monkeypatch):
    async def answers(self, timeout_s: float = 2.0) -> bool:
        return True

    monkeypatch.setattr(Upstream, "reachable", answers)
    config = parse_gateway_config({"pool": [{"name": m, "base_url": "http://127.0.0.1:9/v1"} for m in MODELS],
                                   "registry": {"retry_refused_s": RETRY_S}})
    registry = FakeRegistry()
    registry.store["1"] = fit_bundle("cascal")
    gw = Gateway(config, registry, keys=[])
    yield gw, registry
    gc.unfreeze()


def test_ready_means_the_alias_version_is_served(gateway):
    gw, registry = gateway
    repaired, newer = fit_bundle("cascal", seed=1), fit_bundle("cascal", seed=2)

    async def scenario():
        loaded = []
        try:
            await gw.holder.check_once()
            loaded.append(gw.holder.current)
            ok, body = await gw.ready()
            assert ok and body == {"status": "ready", "reason": "ready", "router": "r", "alias": "champion",
                                   "alias_version": "1", "router_version": "1"}
            # 1. the alias moves to a version whose artifacts fail verification: refused, 1 keeps serving, not ready
            registry.store["2"] = ArtifactError("arrays.npz: modified after it was written")
            registry.alias = "2"
            assert not await gw.holder.check_once()
            ok, body = await gw.ready()
            assert not ok and body["reason"] == "alias_version_refused" and body["router_version"] == "1"
            assert body["alias_version"] == "2"
            assert body["refused"] == {"version": "2", "error": "arrays.npz: modified after it was written"}
            assert body["status"] == (
                "the alias champion of r points at version 2, which this gateway refused: arrays.npz: modified "
                f"after it was written. Version 1 keeps answering requests until version 2 loads (tried again every "
                f"{RETRY_S:g} s) or the alias moves")
            # 2. the registry cannot be read: the alias as last read holds, and the body says why
            registry.down = True
            await gw.holder.check_once()
            ok, body = await gw.ready()
            assert not ok and body["reason"] == "alias_version_refused"
            assert body["registry_error"] == "registry unreachable"
            registry.down = False
            # 3. repaired: not retried before retry_refused_s, then loaded, served and ready
            registry.store["2"] = repaired
            loads = len(registry.loads)
            await gw.holder.check_once()
            assert len(registry.loads) == loads and not (await gw.ready())[0]
            await asyncio.sleep(RETRY_S)
            assert await gw.holder.check_once()
            loaded.append(gw.holder.current)
            ok, body = await gw.ready()
            assert ok and body["router_version"] == body["alias_version"] == "2" and "refused" not in body
            # 4. a new version still loading: the served one answers meanwhile, so ready, and the body says so
            registry.store["3"] = newer
            registry.gate["3"] = threading.Event()
            registry.alias = "3"
            check = asyncio.ensure_future(gw.holder.check_once())
            deadline = time.monotonic() + 10
            while "3" not in registry.loads:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            ok, body = await gw.ready()
            assert ok and body["loading"] == "3" and body["router_version"] == "2"
            registry.gate["3"].set()
            assert await check
            loaded.append(gw.holder.current)
            ok, body = await gw.ready()
            assert ok and body["router_version"] == "3" and "loading" not in body
            # 5. registry unreachable while its version is served: still ready, the error shown
            registry.down = True
            await gw.holder.check_once()
            ok, body = await gw.ready()
            assert ok and body["registry_error"] == "registry unreachable"
        finally:
            for router in loaded:
                router.close()
            await gw.stop()

    asyncio.run(scenario())


def test_nothing_served_and_the_alias_version_refused_is_not_loaded_naming_why(gateway):
    gw, registry = gateway
    registry.store["1"] = ArtifactError("manifest.json: missing")

    async def scenario():
        try:
            await gw.holder.check_once()
            return await gw.ready()
        finally:
            await gw.stop()

    ok, body = asyncio.run(scenario())
    assert not ok and body["reason"] == "not_loaded" and body["router_version"] is None
    assert body["refused"] == {"version": "1", "error": "manifest.json: missing"}
    assert body["status"] == "no router loaded (version 1 refused: manifest.json: missing)"


# ---------------------------------------------------------------------------------------------- SSE relay
def _relayed(*chunks: bytes, breaks: bool = False) -> list[bytes]:
    import aiohttp

    async def upstream():
        for chunk in chunks:
            yield chunk
        if breaks:
            raise aiohttp.ClientPayloadError("connection dropped")

    async def collect():
        return [part async for part in relay(b"data: {}\n\n", upstream(), lambda exc: f"cut ({exc is None})")]

    return asyncio.run(collect())


EVENT = b'data: {"choices": []}\n\n'


@pytest.mark.parametrize("done", [b"data: [DONE]\n\n", b"data: [DONE]", b"data:[DONE]\r\n\r\n", b"data: [DONE]\n"])
def test_a_stream_ending_with_done_is_relayed_as_it_came(done):
    parts = _relayed(EVENT, EVENT[:7], EVENT[7:] + done)
    assert b"".join(parts) == b"data: {}\n\n" + EVENT * 2 + done


def test_a_stream_ending_cleanly_without_done_ends_with_an_error_event_and_drops_the_unfinished_event():
    parts = _relayed(EVENT, EVENT[:10])
    assert parts[:2] == [b"data: {}\n\n", EVENT]
    error = json.loads(parts[2].removeprefix(b"data: "))["error"]
    assert error["code"] == "stream_broken" and error["message"] == "cut (True)" and len(parts) == 3


def test_a_connection_dropped_after_done_cuts_nothing():
    assert b"".join(_relayed(EVENT, b"data: [DONE]\n\n", breaks=True)) == b"data: {}\n\n" + EVENT + b"data: [DONE]\n\n"
    parts = _relayed(EVENT, breaks=True)
    assert json.loads(parts[-1].removeprefix(b"data: "))["error"]["message"] == "cut (False)"
