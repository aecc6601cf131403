"""The gateway's Prometheus metrics, in a registry of its own (``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ROUTE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


class GatewayMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._children: dict[tuple, object] = {}
        self.requests = Counter("rgd_gateway_requests", "Client requests by mode and HTTP status", ["mode", "status"], registry=r)
        self.latency = Histogram(
            "rgd_gateway_request_seconds", "End-to-end request latency", ["mode"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.routing = Histogram(
            "rgd_gateway_routing_seconds", "Time to rank the pool for one question (batching included)",
            buckets=_ROUTE_BUCKETS, registry=r,
        )
        self.batch_size = Histogram(
            "rgd_gateway_router_batch_size", "Questions embedded per router call", buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "rgd_gateway_router_batch_seconds", "Time to embed and score one batch of questions",
            buckets=_ROUTE_BUCKETS, registry=r,
        )
        self.prompt_cache_hits = Counter(
            "rgd_gateway_prompt_cache_hits", "Questions whose routing results were kept from an earlier request",
            registry=r)
        self.prompt_cache_misses = Counter(
            "rgd_gateway_prompt_cache_misses", "Questions embedded and scored (not in the prompt cache)", registry=r)
        self.upstream_latency = Histogram(
            "rgd_gateway_upstream_seconds", "Upstream call latency", ["model"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.chosen = Counter("rgd_gateway_chosen_model", "Responses served, by chosen model and mode", ["model", "mode"], registry=r)
        self.upstream_errors = Counter(
            "rgd_gateway_upstream_errors", "Upstream failures (timeout, connect, 5xx, bad response, 4xx)", ["model", "kind"],
            registry=r,
        )
        self.failovers = Counter("rgd_gateway_failovers", "Requests moved on from a failed model", ["model"], registry=r)
        self.breaker_open = Gauge("rgd_gateway_breaker_open", "1 while an upstream's circuit is open", ["model"], registry=r)
        self.router_version = Gauge("rgd_gateway_router_version", "The served router version (value 1)", ["name", "version"], registry=r)
        self.embedder_precision = Gauge(
            "rgd_gateway_embedder_precision", "The served router's embedding precision (value 1): float32, or "
            "bfloat16 where a probe at load measured it faster", ["precision"], registry=r)
        self.reloads = Counter("rgd_gateway_reloads", "Router loads by result (loaded, refused)", ["result"], registry=r)
        self.rate_limited = Counter("rgd_gateway_rate_limited", "Requests refused with 429", registry=r)
        self.out_of_distribution = Counter(
            "rgd_gateway_out_of_distribution", "Questions routed that are far from every training question (the "
            "router bundle's coverage; never counted for a router registered without it)", registry=r)
        self.rejected = Counter("rgd_gateway_rejected", "Requests refused before routing, by reason", ["reason"], registry=r)

    def child(self, metric, *labels):
        """``metric.labels(*labels)``, looked up once per label set: prometheus_client validates the labels and
        takes a lock on every ``labels`` call, a few microseconds the hot path pays several times a request."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*(str(v) for v in labels))
        return found

    def set_version(self, name: str, version: str, precision: str = "float32") -> None:
        self.router_version.clear()
        self.router_version.labels(name=name, version=version).set(1)
        self.embedder_precision.clear()
        self.embedder_precision.labels(precision=precision).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
