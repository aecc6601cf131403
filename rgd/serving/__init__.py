"""The serving gateway: an OpenAI-compatible endpoint that routes each request with the served router.

``rgd serve --config FILE`` runs it (extra ``serve``: FastAPI, uvicorn, aiohttp, orjson, prometheus-client). One concept
per module: ``config`` (the YAML), ``app`` (endpoints, modes, failover), ``upstream`` (one pool model's
client), ``breaker`` (circuit breaker), ``ratelimit`` (token buckets), ``auth`` (client keys), ``voting``
(top-k consensus), ``batcher`` (micro-batched routing), ``prompt_cache`` (routing results of repeated
prompts), ``reload`` (the served router and hot reload), ``metrics`` (Prometheus), ``monitor`` and ``shadow`` (live label-free
monitoring: the shadowed requests' estimates per skill cluster, the bounded shadow calls), ``errors`` (OpenAI-style
errors), ``openmp`` (torch's threads wait asleep, NumPy's BLAS uses one),
``demo_upstreams`` (the simulated pool as loopback chat servers: ``rgd demo-upstreams``). It never
imports MLflow: the registry source is handed in (``rgd.tracking.serving_source``).
"""

from rgd.serving.config import GatewayConfig, load_gateway_config, parse_gateway_config

__all__ = ["GatewayConfig", "load_gateway_config", "parse_gateway_config"]
