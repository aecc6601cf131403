"""One OpenAI-compatible upstream: a pooled aiohttp client, its key from the environment, its circuit breaker.

A call either returns the upstream's answer (2xx), passes a client error through (4xx: the request is at
fault, another model would refuse it too), or raises :class:`UpstreamFailure` (timeout, refused or dropped
connection, 5xx, a 2xx that is not JSON): the failures the gateway fails over on.

aiohttp rather than httpx: measured on this project's 2-core machine against the same fake upstream,
httpx's AsyncClient costs 2.1-2.5 ms of CPU per request and aiohttp 0.4-0.45 ms (benchmarks/README.md,
"Routing gateway"); the gateway's overhead target leaves no room for the difference.

The request body is encoded once per client request (:class:`OutgoingBody`: the client's JSON without its
``model``, by orjson), and each upstream call only puts its own model id in front of those bytes.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator

import aiohttp
import orjson

from rgd.errors import ParameterError, RGDError
from rgd.serving.breaker import CircuitBreaker
from rgd.serving.config import BreakerSpec, UpstreamSpec


class UpstreamFailure(RGDError):
    """An upstream model that did not answer: its name, the kind of failure and the detail."""

    def __init__(self, model: str, kind: str, detail: str) -> None:
        super().__init__(f"{model}: {kind} ({detail})")
        self.model, self.kind, self.detail = model, kind, detail


@dataclass
class UpstreamReply:
    status: int
    body: bytes
    content_type: str
    seconds: float
    doc: Any = None  # the parsed body of a 2xx reply, parsed once (when it was checked)

    def json(self) -> Any:
        return self.doc if self.doc is not None else orjson.loads(self.body)


class OutgoingBody:
    """A client request as the upstreams get it, encoded once: the JSON object without its ``model`` field;
    :meth:`for_model` puts an upstream's own model id first (the field cannot then appear twice)."""

    __slots__ = ("rest",)

    def __init__(self, request: dict[str, Any]) -> None:
        rest = orjson.dumps({k: v for k, v in request.items() if k != "model"})
        self.rest = rest[1:]  # after the opening brace: '}' alone for an empty object

    def for_model(self, model_json: bytes) -> bytes:
        """``model_json``: the model id already encoded as a JSON string (``Upstream.model_json``)."""
        return b'{"model":%s%s%s' % (model_json, b"" if self.rest == b"}" else b",", self.rest)


@dataclass
class UpstreamStream:
    status: int
    content_type: str
    response: aiohttp.ClientResponse

    async def read(self) -> bytes:
        try:
            return await self.response.read()
        finally:
            self.response.release()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.content.iter_any():
                yield chunk
        finally:
            self.response.release()


class Upstream:
    def __init__(self, spec: UpstreamSpec, breaker: BreakerSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.headers = {"Content-Type": "application/json"}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise ParameterError(f"pool model {spec.name!r}: environment variable {spec.api_key_env} is not set")
            self.headers["Authorization"] = f"Bearer {key}"
        self.url = f"{spec.base_url}/chat/completions"
        self.model_json = orjson.dumps(spec.upstream_model)
        connect = min(spec.timeout_s, 5.0)
        self.timeout = aiohttp.ClientTimeout(total=spec.timeout_s, connect=connect)
        # a stream may run longer than timeout_s in total: the limit is between two chunks
        self.stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=spec.timeout_s)
        self.breaker = CircuitBreaker(breaker.failure_threshold, breaker.open_s)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # created inside the running event loop
            # replies are decoded as any HTTP client would: aiohttp asks for gzip and deflate (br with the
            # Brotli package of the 'serve' extra) and decompresses bodies and streams alike
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512, ttl_dns_cache=300), headers=self.headers)
        return self._session

    def _body(self, request: "dict[str, Any] | OutgoingBody") -> bytes:
        if not isinstance(request, OutgoingBody):
            request = OutgoingBody(request)
        return request.for_model(self.model_json)

    def _failure(self, exc: BaseException) -> UpstreamFailure:
        if isinstance(exc, asyncio.TimeoutError):
            return UpstreamFailure(self.name, "timeout", "no reply in time")
        if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
            return UpstreamFailure(self.name, "dropped", type(exc).__name__)
        return UpstreamFailure(self.name, "connect", type(exc).__name__)

    async def chat(self, request: "dict[str, Any] | OutgoingBody") -> UpstreamReply:
        start = time.perf_counter()
        try:
            async with self.session.post(self.url, data=self._body(request), timeout=self.timeout) as r:
                body = await r.read()
                status, content_type = r.status, r.headers.get("Content-Type", "application/json")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._failure(exc) from None
        seconds = time.perf_counter() - start
        if status >= 500:
            raise UpstreamFailure(self.name, "5xx", f"HTTP {status}")
        reply = UpstreamReply(status, body, content_type, seconds)
        if status < 300:
            try:
                doc = reply.json()
            except ValueError:
                raise UpstreamFailure(self.name, "bad_response", "not JSON") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
                raise UpstreamFailure(self.name, "bad_response", "no choices")
            reply.doc = doc
        return reply

    async def open_stream(self, request: "dict[str, Any] | OutgoingBody") -> UpstreamStream:
        """Send a streaming request; returns once the upstream's headers arrived (5xx: UpstreamFailure)."""
        try:
            r = await self.session.post(self.url, data=self._body(request), timeout=self.stream_timeout)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._failure(exc) from None
        if r.status >= 500:
            r.release()
            raise UpstreamFailure(self.name, "5xx", f"HTTP {r.status}")
        return UpstreamStream(r.status, r.headers.get("Content-Type", "text/event-stream"), r)

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """Does the endpoint answer HTTP at all (any status: a 401 still means it is up)?"""
        try:
            async with self.session.get(f"{self.spec.base_url}/models",
                                        timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                await r.read()
            return True
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
