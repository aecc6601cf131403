"""One OpenAI-compatible upstream: a pooled httpx client, its key from the environment, its circuit breaker.

A call either returns the upstream's answer (2xx), passes a client error through (4xx: the request is at
fault, another model would refuse it too), or raises :class:`UpstreamFailure` (timeout, refused or dropped
connection, 5xx, a 2xx that is not JSON): the failures the gateway fails over on.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

import httpx

from rgd.errors import ParameterError
from rgd.serving.breaker import CircuitBreaker
from rgd.serving.config import BreakerSpec, UpstreamSpec


class UpstreamFailure(Exception):
    def __init__(self, model: str, kind: str, detail: str) -> None:
        super().__init__(f"{model}: {kind} ({detail})")
        self.model, self.kind, self.detail = model, kind, detail


@dataclass
class UpstreamReply:
    status: int
    body: bytes
    content_type: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class Upstream:
    def __init__(self, spec: UpstreamSpec, breaker: BreakerSpec) -> None:
        self.spec = spec
        self.name = spec.name
        headers = {}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise ParameterError(f"pool model {spec.name!r}: environment variable {spec.api_key_env} is not set")
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.AsyncClient(
            base_url=spec.base_url,
            headers=headers,
            timeout=httpx.Timeout(spec.timeout_s, connect=min(spec.timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=256),
        )
        self.breaker = CircuitBreaker(breaker.failure_threshold, breaker.open_s)

    def _body(self, request: dict[str, Any]) -> bytes:
        return json.dumps({**request, "model": self.spec.upstream_model}).encode("utf-8")

    async def chat(self, request: dict[str, Any]) -> UpstreamReply:
        start = time.perf_counter()
        try:
            r = await self.client.post(
                "/chat/completions", content=self._body(request), headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(self.name, "timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise UpstreamFailure(self.name, "connect", type(exc).__name__) from None
        seconds = time.perf_counter() - start
        if r.status_code >= 500:
            raise UpstreamFailure(self.name, "5xx", f"HTTP {r.status_code}")
        reply = UpstreamReply(r.status_code, r.content, r.headers.get("content-type", "application/json"), seconds)
        if r.status_code < 300:
            try:
                body = reply.json()
            except ValueError:
                raise UpstreamFailure(self.name, "bad_response", "not JSON") from None
            if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
                raise UpstreamFailure(self.name, "bad_response", "no choices")
        return reply

    async def open_stream(self, request: dict[str, Any]) -> httpx.Response:
        """Send a streaming request and return the response once its headers arrived (5xx: UpstreamFailure)."""
        req = self.client.build_request(
            "POST", "/chat/completions", content=self._body(request), headers={"Content-Type": "application/json"}
        )
        try:
            r = await self.client.send(req, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(self.name, "timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise UpstreamFailure(self.name, "connect", type(exc).__name__) from None
        if r.status_code >= 500:
            await r.aclose()
            raise UpstreamFailure(self.name, "5xx", f"HTTP {r.status_code}")
        return r

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """Does the endpoint answer HTTP at all (any status: a 401 still means it is up)?"""
        try:
            await self.client.get("/models", timeout=timeout_s)
            return True
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self.client.aclose()
