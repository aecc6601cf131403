"""The OpenAI-compatible routing gateway: the router ranks the pool, the gateway calls the models.

Endpoints: ``POST /v1/chat/completions`` (non-streaming, and streaming SSE passed through), ``GET /v1/models``,
``/healthz`` (the process is alive: answered from the start, while the router loads in the background),
``/readyz`` (a request would succeed: the alias's version is loaded and an upstream it ranks answers) and
``/metrics`` (Prometheus) and ``GET /v1/rgd/monitor`` (live label-free monitoring: :mod:`rgd.serving.shadow`;
``?refresh=true`` recomputes the estimate first; ``?ood_questions=true`` adds the out-of-distribution questions
kept where ``monitoring.keep_ood_questions`` allows). The question routed is the last user message. A router version that ranks none
of the pool's models is refused; at start, that stops the gateway with an error naming the config's pool, as
does a model, an alias or a local store the registry does not have (naming that field of the config).

Modes, per request: ``model: "rgd-router"`` (top-1: the first-ranked model answers) or
``"rgd-router:top3"`` (consensus: the 3 first-ranked models answer concurrently, the majority's response is
returned with the votes), or the same as an extra field ``"rgd_mode": "top3"``. ``"rgd_cost_weight": w`` (in
[0, 1], default ``routing.cost_weight``) trades accuracy against cost with the router's cost policy, as
``rgd route --cost-weight`` does (0: quality only). Every response names the
chosen model, the router version and the ranking, in ``X-RGD-*`` headers and in an ``rgd`` field (for a
stream: a first chunk with no choices); with a router whose bundle has coverage, also whether the question is
far from every training question (``X-RGD-Out-Of-Distribution: true|false``, ``X-RGD-Training-Similarity``, and
``out_of_distribution``, ``training_similarity`` and a flagged one's ``note`` in the field:
:meth:`rgd.routers.bundle.RouterBundle.out_of_distribution`), counted in ``rgd_gateway_out_of_distribution``.

Failover: a timeout, a 5xx or a dropped connection moves the request to the next-ranked model whose circuit
is closed; a 4xx is passed through; when every model fails, 502. A stream that breaks after its first byte, or
ends without ``data: [DONE]``, ends with an error event (:mod:`rgd.serving.sse`). Requests need a client key
(``Authorization: Bearer``; 401), stay within a per-key rate (429 + Retry-After) and a body size (413);
malformed requests get OpenAI-style 400s. Question text is logged only when ``server.log_prompts`` is on.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from rgd.errors import ParameterError
from rgd.routers.policy import CostWeightError
from rgd.serving.auth import KeyChecker
from rgd.serving.breaker import OPEN
from rgd.serving.config import GatewayConfig, NotInRegistry
from rgd.serving.errors import GatewayError, error_body
from rgd.serving.metrics import GatewayMetrics
from rgd.serving.ratelimit import RateLimiter
from rgd.serving.reload import LoadedRouter, Routed, RouterHolder, RouterSource
from rgd.serving.shadow import Shadow
from rgd.serving.sse import relay
from rgd.serving.upstream import OutgoingBody, Upstream, UpstreamFailure, UpstreamReply
from rgd.serving.voting import Vote, answer_of, decide

log = logging.getLogger("rgd.serving")
access_log = logging.getLogger("rgd.serving.access")

_JSON = "application/json"


def _dumps(value: Any) -> bytes:
    """JSON by orjson (several times json's speed), numpy scalars included as json.dumps takes them."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)

T = TypeVar("T")


class PoolMismatch(ParameterError):
    """A router version that ranks none of the pool's models: every request would fail."""


class Gateway:
    """Everything one gateway process holds: config, router, upstreams, limits, metrics. ``on_fatal`` is
    called when the gateway cannot serve at all (``fatal`` says why): the command stops the server."""

    def __init__(self, config: GatewayConfig, source: RouterSource, keys: list[str] | None = None,
                 config_path: str = "the gateway config", on_fatal: Callable[[], None] | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.on_fatal = on_fatal
        self.fatal: str | None = None
        self.metrics = GatewayMetrics()
        self.keys = KeyChecker(config.auth.load_keys() if keys is None else keys)
        self.limiter = RateLimiter(config.rate_limit.requests_per_s, config.rate_limit.burst)
        self.upstreams = {spec.name: Upstream(spec, config.breaker) for spec in config.pool}
        self.shadow = Shadow(config.monitoring, self.upstreams, self.metrics.registry)
        r = config.routing
        window_s = None if r.batch_window_ms is None else r.batch_window_ms / 1000.0
        self.holder = RouterHolder(source, self.metrics, window_s, r.max_batch, config.registry.poll_interval_s,
                                   r.embedder_threads, config.pool_costs(), r.embedder_precision,
                                   config.registry.retry_refused_s, self.vet, r.prompt_cache_size,
                                   r.embedder_backend, r.embedder_batch_size)
        self._mode = re.compile(rf"^{re.escape(r.public_model)}(?::top(\d+))?$")
        self._ready_cache: tuple[float, str, bool] = (0.0, "", False)  # (when, router version, ready)
        self._poller: asyncio.Task | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Returns at once, so that liveness is answered while the registry is slow or down: the alias's
        version loads in the background, and /readyz says not ready until it has."""
        self._poller = asyncio.get_running_loop().create_task(self._follow_registry())
        self.shadow.start()

    async def _follow_registry(self) -> None:
        while True:
            await self.holder.check_once()
            missing = self.holder.last_registry_error
            if self.holder.current is None and isinstance(missing, NotInRegistry):
                self.fatal = f"{self.config_path}: {missing.field}: {missing}"
            elif self.holder.current is None and isinstance(self.holder.last_refusal, PoolMismatch):
                self.fatal = str(self.holder.last_refusal)
            if self.fatal is not None:
                log.error("the gateway cannot serve: %s", self.fatal)
                if self.on_fatal is not None:
                    self.on_fatal()
                return
            await asyncio.sleep(self.config.registry.poll_interval_s)

    def vet(self, router: LoadedRouter) -> None:
        """Refuse a version that ranks none of the pool's models; warn about those the pool does not name."""
        missing = [m for m in router.models if m not in self.upstreams]
        if len(missing) == len(router.models):
            raise PoolMismatch(
                f"{self.config_path}: pool: no pool model is one that {self.holder.source.name} version "
                f"{router.version} ranks ({', '.join(router.models)}); the pool names {', '.join(self.upstreams)}. "
                "Give each pool entry the name the router knows (pool[].name; the upstream's own id goes in "
                "pool[].model)")
        if missing:
            log.warning("version %s ranks models the pool config does not name (skipped): %s", router.version, missing)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.shadow.stop()
        if self.holder.current is not None:
            self.holder.current.close()
        for up in self.upstreams.values():
            await up.aclose()

    # ------------------------------------------------------------------ request checks
    def client_of(self, request: Request) -> str:
        """The client's key id (401 without a valid key when keys are configured)."""
        if not self.keys.enabled:
            return request.client.host if request.client else "anonymous"
        key_id = self.keys.identify(request.headers.get("authorization"))
        if key_id is None:
            self.metrics.rejected.labels(reason="unauthorized").inc()
            raise GatewayError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'",
                               code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        return key_id

    def rate_limit(self, client: str) -> None:
        retry = self.limiter.check(client)
        if retry:
            self.metrics.rate_limited.inc()
            raise GatewayError(429, f"rate limit exceeded: {self.config.rate_limit.requests_per_s:g} requests/s "
                               f"(burst {self.config.rate_limit.burst}) per key", type="rate_limit_error",
                               code="rate_limit_exceeded", headers={"Retry-After": str(retry)})

    async def read_json(self, request: Request) -> dict[str, Any]:
        limit = self.config.server.max_body_bytes
        too_big = GatewayError(413, f"request body larger than {limit} bytes", code="request_too_large")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self.metrics.rejected.labels(reason="too_large").inc()
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                self.metrics.rejected.labels(reason="too_large").inc()
                raise too_big
            chunks.append(chunk)
        try:
            payload = orjson.loads(b"".join(chunks))
        except ValueError:  # orjson's JSONDecodeError, invalid UTF-8 included
            raise GatewayError(400, "the request body is not valid JSON", code="invalid_json") from None
        if not isinstance(payload, dict):
            raise GatewayError(400, "the request body must be a JSON object", code="invalid_json")
        return payload

    def mode_of(self, payload: dict[str, Any]) -> int:
        """k: 1 for top-1, k for top-k consensus (400 for an unknown mode)."""
        public = self.config.routing.public_model
        mode = payload.pop("rgd_mode", None)
        model = payload.get("model", public)
        if mode is not None:
            if not isinstance(mode, str):
                raise GatewayError(400, "rgd_mode must be a string such as 'top1' or 'top3'", param="rgd_mode",
                                   code="unknown_mode")
            model = f"{public}:{mode}" if mode != "top1" else public
        m = self._mode.match(model) if isinstance(model, str) else None
        if m is None:
            raise GatewayError(
                400, f"unknown model or mode {model!r}: use {public!r} (top-1) or '{public}:topK' (consensus of K)",
                param="model", code="unknown_mode")
        digits = m.group(1) or "1"
        k = int(digits) if len(digits) <= 9 else 0  # int() refuses a number of over 4300 digits (a 500)
        if not 1 <= k <= self.config.routing.max_k:
            shown = digits if len(digits) <= 12 else f"{digits[:12]}... ({len(digits)} digits)"
            raise GatewayError(400, f"top-k needs 1 <= k <= {self.config.routing.max_k}, got {shown}", param="model",
                               code="unknown_mode")
        return k

    def cost_weight_of(self, payload: dict[str, Any]) -> float:
        """The request's cost weight (``rgd_cost_weight``, default ``routing.cost_weight``); 400 outside [0, 1]."""
        from rgd.errors import ParameterError
        from rgd.routers.policy import check_cost_weight

        value = payload.pop("rgd_cost_weight", None)
        if value is None:
            return self.config.routing.cost_weight
        try:
            return check_cost_weight(value)
        except ParameterError as exc:
            raise GatewayError(400, f"rgd_cost_weight: {exc}", param="rgd_cost_weight",
                               code="invalid_cost_weight") from None

    @staticmethod
    def question_of(payload: dict[str, Any]) -> str:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise GatewayError(400, "'messages' is required: a non-empty list of chat messages", param="messages",
                               code="missing_messages")
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    return content
                if isinstance(content, list):
                    parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
                    if parts:
                        return "\n".join(parts)
                raise GatewayError(400, "the last user message has no text content", param="messages",
                                   code="invalid_messages")
        raise GatewayError(400, "no user message to route", param="messages", code="invalid_messages")

    # ------------------------------------------------------------------ upstream calls
    def _failed(self, up: Upstream, failure: UpstreamFailure) -> None:
        self.metrics.upstream_errors.labels(model=up.name, kind=failure.kind).inc()
        self.metrics.failovers.labels(model=up.name).inc()
        if up.breaker.record_failure():
            self.metrics.breaker_open.labels(model=up.name).set(1)
            log.warning("circuit opened for %s for %gs after %s", up.name, up.breaker.open_s, failure)

    def _succeeded(self, up: Upstream, reply_seconds: float | None = None) -> None:
        if up.breaker.opened_at is not None or up.breaker.failures:
            self.metrics.breaker_open.labels(model=up.name).set(0)
        up.breaker.record_success()
        if reply_seconds is not None:
            self.metrics.child(self.metrics.upstream_latency, up.name).observe(reply_seconds)

    @staticmethod
    def _all_failed(failures: list[str]) -> GatewayError:
        detail = "; ".join(failures) if failures else "every pool model's circuit is open"
        return GatewayError(502, f"every pool model failed: {detail}", type="upstream_error", code="all_upstreams_failed")

    async def first_answer(self, ranking: list[str], call: Callable[[Upstream], Awaitable[T]]
                           ) -> tuple[str, Upstream, T, list[str]]:
        """Failover: ``call`` on each ranked model whose circuit is closed until one does not fail; (model,
        upstream, result, the failures before it). 502 when every model fails or has its circuit open."""
        failures: list[str] = []
        for model in ranking:
            up = self.upstreams[model]
            if not up.breaker.allow():
                continue
            try:
                result = await call(up)
            except UpstreamFailure as f:
                self._failed(up, f)
                failures.append(str(f))
                continue
            return model, up, result, failures
        raise self._all_failed(failures)

    async def top1(self, ranking: list[str], payload: OutgoingBody) -> tuple[str, UpstreamReply, list[str]]:
        model, up, reply, failures = await self.first_answer(ranking, lambda up: up.chat(payload))
        self._succeeded(up, reply.seconds)
        return model, reply, failures

    async def consensus(self, ranking: list[str], payload: OutgoingBody, k: int, question: str):
        candidates = iter(enumerate(ranking))
        running: dict[asyncio.Task, tuple[int, str]] = {}
        failures: list[str] = []

        def launch() -> None:
            for rank, model in candidates:
                if self.upstreams[model].breaker.allow():
                    running[asyncio.ensure_future(self.upstreams[model].chat(payload))] = (rank, model)
                    return

        for _ in range(k):
            launch()
        answers: list[tuple[int, str, UpstreamReply]] = []
        refused: list[tuple[int, str, UpstreamReply]] = []
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                rank, model = running.pop(task)
                up = self.upstreams[model]
                try:
                    reply = task.result()
                except UpstreamFailure as f:
                    self._failed(up, f)
                    failures.append(str(f))
                    launch()  # the next-ranked model takes the failed one's place
                    continue
                self._succeeded(up, reply.seconds)
                (answers if reply.status < 300 else refused).append((rank, model, reply))
        if not answers:
            if refused:
                return min(refused, key=lambda t: t[0]), failures, None
            raise self._all_failed(failures)
        answers.sort(key=lambda t: t[0])
        votes = [Vote(model, rank, answer_of(reply.json(), question)) for rank, model, reply in answers]
        result = decide(votes)
        return answers[result.winner], failures, result

    # ------------------------------------------------------------------ the endpoint
    def _headers(self, router: LoadedRouter, model: str, ranking: list[str], mode: str,
                 routed: Routed) -> dict[str, str]:
        headers = {"X-RGD-Model": model, "X-RGD-Router-Version": router.version, "X-RGD-Ranking": ",".join(ranking),
                   "X-RGD-Mode": mode}
        if routed.out_of_distribution is not None:  # a router registered without coverage: neither header
            headers["X-RGD-Out-Of-Distribution"] = "true" if routed.out_of_distribution else "false"
            headers["X-RGD-Training-Similarity"] = f"{routed.similarity:.4f}"
        return headers

    async def chat(self, request: Request) -> Response:
        client = self.client_of(request)
        self.rate_limit(client)
        payload = await self.read_json(request)
        k = self.mode_of(payload)
        mode = f"top{k}"
        cost_weight = self.cost_weight_of(payload)
        question = self.question_of(payload)
        stream = bool(payload.get("stream"))
        if stream and k > 1:
            raise GatewayError(400, "consensus modes (topK, K > 1) do not stream: send stream=false", param="stream",
                               code="unsupported_mode")
        router = self.holder.current  # taken once: a reload mid-request does not change it
        if router is None:
            raise GatewayError(503, "no router is loaded yet", type="service_unavailable", code="router_not_ready")
        t = time.perf_counter()
        try:
            routed = await router.rank(question, cost_weight)
        except CostWeightError as exc:
            raise GatewayError(400, str(exc), param="rgd_cost_weight", code="invalid_cost_weight") from None
        ranking = [m for m in routed.models if m in self.upstreams]
        self.metrics.routing.observe(time.perf_counter() - t)
        if routed.out_of_distribution:
            self.metrics.out_of_distribution.inc()
        self.shadow.seen(router.version, router.models, routed.cluster, routed.out_of_distribution, k, question,
                         routed.similarity)
        if self.config.server.log_prompts:
            access_log.info("route %s: %r -> %s", mode, question, ranking)
        extra: dict[str, Any] = {"cost_weight": cost_weight, **({"warning": routed.warning} if routed.warning else {})}
        if routed.out_of_distribution is not None:
            extra |= {"out_of_distribution": routed.out_of_distribution, "training_similarity": routed.similarity,
                      **({"note": routed.note} if routed.note else {})}
        body = OutgoingBody(payload)  # encoded once, whichever upstreams it goes to
        if stream:
            return await self._stream(router, ranking, body, extra, routed)
        info: dict[str, Any] = {"router_version": router.version, "ranking": ranking, "mode": mode, **extra}
        if k == 1:
            model, reply, failures = await self.top1(ranking, body)
        else:
            (_, model, reply), failures, result = await self.consensus(ranking, body, k, question)
            if result is not None:
                info["consensus"] = result.to_dict()
        info["model"] = model
        if failures:
            info["failovers"] = failures
        headers = self._headers(router, model, ranking, mode, routed)
        if reply.status >= 300:
            return self._passed_through(model, reply.body, reply.status, headers, reply.content_type)
        self.metrics.child(self.metrics.chosen, model, mode).inc()
        launch = self.shadow.sample(ranking, model, body, reply, question, routed.cluster) if k == 1 else None
        return Response(with_field(reply.body, reply.json(), "rgd", info), 200, headers=headers, media_type=_JSON,
                        background=None if launch is None else BackgroundTask(launch))

    def _passed_through(self, model: str, body: bytes, status: int, headers: dict[str, str],
                        content_type: str | None) -> Response:
        """An upstream's client error (4xx), counted and passed through as it came: no failover."""
        self.metrics.upstream_errors.labels(model=model, kind="4xx").inc()
        return Response(body, status, headers=headers, media_type=content_type)

    async def _stream(self, router: LoadedRouter, ranking: list[str], payload: OutgoingBody,
                      extra: dict[str, Any], routed: Routed) -> Response:
        model, up, r, failures = await self.first_answer(ranking, lambda up: up.open_stream(payload))
        self._succeeded(up)
        headers = self._headers(router, model, ranking, "top1", routed)
        if r.status >= 300:
            return self._passed_through(model, await r.read(), r.status, headers, r.content_type)
        self.metrics.chosen.labels(model=model, mode="top1").inc()
        info = {"model": model, "router_version": router.version, "ranking": ranking, "mode": "top1", **extra}
        if failures:
            info["failovers"] = failures
        first = {"object": "chat.completion.chunk", "choices": [], "model": model, "rgd": info}

        def broken(exc: BaseException | None) -> str:  # mid-stream: too late to fail over, the client is told
            self.metrics.upstream_errors.labels(model=up.name, kind="stream_broken").inc()
            if exc is None:  # a clean end of the HTTP response, but no [DONE]: nothing says the answer is whole
                log.warning("stream from %s ended without data: [DONE]", up.name)
                return f"the stream from {model} ended without its closing data: [DONE]: the answer may be incomplete"
            why = "no chunk within timeout_s" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            log.warning("stream from %s broke: %s", up.name, why)
            return f"the stream from {model} broke midway ({why}): the answer is incomplete"

        relayed = relay(b"data: %s\n\n" % _dumps(first), r.chunks(), broken)
        return StreamingResponse(relayed, 200, headers=headers, media_type=r.content_type)

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether a request would succeed with the version the alias names, and /readyz's body saying so.

        Not ready (503) while the gateway cannot serve at all (``reason`` ``fatal``), before a version is
        loaded (``not_loaded``), while the version the alias points at is refused (``alias_version_refused``:
        it failed to load or verify, or ranks no pool model; the last good version keeps answering requests
        and the body says which, with the alias, the refused version and why), and while no pool model the
        router ranks can answer (``circuits_open``, ``no_upstream_reachable``). Still ready while a new
        version the alias points at loads (``loading``: the served one answers until the swap) and while the
        registry cannot be read (``registry_error``: the alias as last read holds). The body: ``status``
        ("ready", or why not in words), ``reason``, ``router``, ``alias``, ``alias_version`` (as last read),
        ``router_version`` (the version requests get), and ``refused`` (``{"version", "error"}``),
        ``loading`` or ``registry_error`` where they apply."""
        h = self.holder
        router = h.current
        body: dict[str, Any] = {"status": "ready", "reason": "ready", "router": h.source.name,
                                "alias": self.config.registry.alias, "alias_version": h.alias_version,
                                "router_version": router.version if router else None}
        refused = h.alias_refused
        if refused is not None:
            body["refused"] = {"version": h.alias_version, "error": refused}
        if router is not None and h.alias_loading is not None:
            body["loading"] = h.alias_loading
        if h.last_registry_error is not None:
            body["registry_error"] = str(h.last_registry_error)

        def unready(reason: str, status: str) -> tuple[bool, dict[str, Any]]:
            return False, {**body, "status": status, "reason": reason}

        if self.fatal is not None:
            return unready("fatal", self.fatal)
        if router is None:
            return unready("not_loaded", f"no router loaded ({h.last_error or 'loading'})")
        if refused is not None:
            return unready("alias_version_refused", (
                f"the alias {self.config.registry.alias} of {h.source.name} points at version {h.alias_version}, "
                f"which this gateway refused: {refused}. Version {router.version} keeps answering requests until "
                f"version {h.alias_version} loads (tried again every {h.retry_refused_s:g} s) or the alias moves"))
        routable = [self.upstreams[m] for m in router.models if m in self.upstreams]
        if all(u.breaker.state == OPEN for u in routable):
            return unready("circuits_open", "the circuit of every pool model the router ranks is open")
        now = time.monotonic()
        at, version, ok = self._ready_cache
        if now - at >= 2.0 or version != router.version:
            ok = any(await asyncio.gather(*(u.reachable() for u in routable)))
            self._ready_cache = (now, router.version, ok)
        return (True, body) if ok else unready("no_upstream_reachable", "no upstream reachable")

    def models_list(self) -> dict[str, Any]:
        public = self.config.routing.public_model
        ids = [public] + [f"{public}:top{k}" for k in range(2, self.config.routing.max_k + 1)]
        router = self.holder.current
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": "rgd"} for i in ids],
            "rgd": {
                "router": self.holder.source.name,
                "router_version": router.version if router else None,
                "pool": [{"name": u.name, "upstream_model": u.spec.upstream_model, "cost": u.spec.cost,
                          "circuit": u.breaker.state} for u in self.upstreams.values()],
            },
        }


def with_field(body: bytes, doc: dict[str, Any], name: str, value: Any) -> bytes:
    """The JSON object ``body`` (parsed: ``doc``) with ``name: value`` added. The upstream's bytes are kept as
    they came and the field is spliced in before the closing brace, which saves re-encoding every reply. An
    empty object, a body that already has the field, or one that is not UTF-8 text from ``{`` to ``}`` is
    re-encoded instead."""
    text = body.strip()
    if not doc or name in doc or not (text.startswith(b"{") and text.endswith(b"}")):
        return _dumps({**doc, name: value})
    return b"%s,%s:%s}" % (text[:-1], _dumps(name), _dumps(value))


class ChatFastPath:
    """ASGI middleware: ``POST /v1/chat/completions`` straight to ``handler``, its GatewayError as the OpenAI-style
    error response the exception handler would give; every other request to ``app``. It sits inside Starlette's
    ServerErrorMiddleware, so an unexpected exception is still a logged 500."""

    def __init__(self, app: Callable, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.app, self.handler = app, handler

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await self.handler(Request(scope, receive, send))
        except GatewayError as exc:
            response = Response(exc.body(), exc.status, headers=exc.headers, media_type=_JSON)
        await response(scope, receive, send)


def create_app(config: GatewayConfig, source: RouterSource, keys: list[str] | None = None,
               config_path: str = "the gateway config", on_fatal: Callable[[], None] | None = None) -> FastAPI:
    """The FastAPI app of a gateway; ``keys`` overrides the configured client keys (tests); ``config_path``
    names the config in errors; ``on_fatal``: see :class:`Gateway`."""
    gw = Gateway(config, source, keys, config_path, on_fatal)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await gw.start()
        yield
        await gw.stop()

    app = FastAPI(title="rgd gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gateway = gw

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError):
        return Response(exc.body(), exc.status, headers=exc.headers, media_type=_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return Response(error_body(str(exc.detail), "invalid_request_error", code=str(exc.status_code)),
                        exc.status_code, media_type=_JSON)

    async def chat_completions(request: Request):
        start = time.perf_counter()
        status, mode = 500, "unknown"
        try:
            response = await gw.chat(request)
            status, mode = response.status_code, response.headers.get("x-rgd-mode", mode)
            return response
        except GatewayError as exc:
            status = exc.status
            raise
        finally:
            seconds = time.perf_counter() - start
            gw.metrics.child(gw.metrics.requests, mode, status).inc()
            gw.metrics.child(gw.metrics.latency, mode).observe(seconds)
            access_log.debug("chat %s %d %.1fms", mode, status, seconds * 1000)

    # the hot path is not routed by FastAPI at all: a plain ASGI middleware hands POST /v1/chat/completions to its
    # handler, past FastAPI's exception and exit-stack middleware and its router (each a coroutine hop a request;
    # FastAPI's dependency machinery was ~5% of the gateway's CPU at 64 concurrent requests: benchmarks/README.md).
    # The route stays registered for anything the middleware lets through (another method gets 405).
    app.add_route("/v1/chat/completions", chat_completions, methods=["POST"])
    app.add_middleware(ChatFastPath, handler=chat_completions)

    @app.get("/v1/models")
    async def models(request: Request):
        gw.client_of(request)
        return JSONResponse(gw.models_list())

    @app.get("/v1/rgd/monitor")
    async def monitor(request: Request, refresh: bool = False, ood_questions: bool = False):
        gw.client_of(request)
        if refresh:
            await gw.shadow.refresh()
        return Response(_dumps(gw.shadow.report(ood_questions)), media_type=_JSON)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        ok, body = await gw.ready()
        return JSONResponse(body, 200 if ok else 503)

    @app.get("/metrics")
    async def metrics():
        return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
