"""The gateway's configuration (``rgd serve --config FILE``): which router to serve, the pool, the limits.

A YAML file with these sections (``configs/serve/gateway.yaml`` is a documented sample)::

    registry:   model_name, alias (default champion), tracking_uri, poll_interval_s, retry_refused_s
    pool:       - name (the pool model the router knows), base_url (OpenAI-compatible, ending in /v1),
                  model (the upstream's model id; default: name), api_key_env (the environment variable
                  holding its key; none for keyless servers), timeout_s, cost (reported, not used)
    auth:       required, api_keys_env (comma-separated keys), api_keys_file (one key a line: a mounted Secret)
    rate_limit: requests_per_s and burst per client key (a token bucket; 0 turns it off)
    breaker:    failure_threshold consecutive failures open an upstream's circuit for open_s seconds
    routing:    public_model (the model id clients send), max_k, batch_window_ms, max_batch, prompt_cache_size,
                embedder_threads, embedder_precision, embedder_backend, embedder_batch_size
    server:     host, port, max_body_bytes, log_prompts
    monitoring: share (default 0.02: 2% of top-1 requests shadowed; 0 turns it off), shadow_models, seed,
                max_per_s, max_concurrency, budget_calls, budget_period_s, timeout_s, window, min_requests,
                refresh_s, keep_ood_questions (live label-free monitoring: :mod:`rgd.serving.monitor`, :mod:`rgd.serving.shadow`),
                drift (reference_requests, recent_requests, accuracy_drop, agreement_drop, ood_requests, ood_rise, z,
                retrain_command, retrain_job, cooldown_s: :mod:`rgd.serving.drift`, :mod:`rgd.serving.retrain`)

Every section forbids unknown fields, so a typo fails with the field's path, and types are strict, as in run
configs. Secrets are never in the file: only the *names* of the environment variables that hold them; a
secret-looking value (credentials inside a ``base_url``, a key given as ``api_key_env``) is refused, unshown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rgd.config.aliases import CHAMPION, DEFAULT_MODEL_NAME, check_alias_name
from rgd.data.yaml_file import read_yaml
from rgd.errors import DataError, ParameterError, validation_message
from rgd.secrets import find_plaintext_secrets, key_shaped
from rgd.serving.prompt_cache import PROMPT_CACHE_SIZE

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str | None) -> str | None:
    """The name of an environment variable; the value is never echoed, in case it is the key itself."""
    if value is None:
        return value
    if key_shaped(value):
        raise ValueError("this looks like a key, not the name of the environment variable holding it (value not "
                         "shown): set the key in an environment variable and name that variable here")
    if not _ENV_NAME.match(value):
        raise ValueError("not an environment variable name: letters, digits and _, not starting with a digit "
                         "(value not shown; the key itself never goes in the file)")
    return value


def http_url(value: str) -> str:
    """An OpenAI-compatible base URL: http(s), a host, a port in range, no spaces, query or fragment; without
    the trailing ``/``. Anything else fails here, at start, rather than as a connection error per request."""
    example = "e.g. http://127.0.0.1:8000/v1"
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a URL: it contains a space ({example})")
    try:
        parts = urlsplit(value)
        port = parts.port  # a port that is not a number or is outside 0-65535 raises here
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL ({exc}; {example})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL: it must start with http:// or https:// ({example})")
    if not parts.hostname:
        raise ValueError(f"{value!r} is not a URL: it names no host ({example})")
    if port == 0:
        raise ValueError(f"{value!r} is not a base URL: port 0 is not one a server listens on ({example})")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} is not a base URL: a base URL has no query or fragment ({example})")
    return value.rstrip("/")


class NotInRegistry(ParameterError):
    """A name in the gateway config (``field``: registry.model_name, registry.alias, registry.tracking_uri)
    that the registry answered does not exist: the gateway could never serve, so it stops at start."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class RegistrySpec(_Strict):
    model_name: str = Field(DEFAULT_MODEL_NAME, min_length=1, description="the registered router")
    alias: str = Field(CHAMPION, min_length=1, description="the alias served; the gateway follows it")
    tracking_uri: str | None = Field(None, description="MLflow tracking URI; default $MLFLOW_TRACKING_URI")
    poll_interval_s: float = Field(30.0, gt=0, description="how often the alias is checked for a new version")
    retry_refused_s: float = Field(300.0, gt=0, description="how often a refused version the alias still points "
                                   "at is downloaded and verified again (its artifacts may have been repaired)")

    _check_alias = field_validator("alias")(classmethod(lambda cls, v: check_alias_name(v, "registry.alias")))


class UpstreamSpec(_Strict):
    name: str = Field(min_length=1, description="the pool model's name, as the router ranks it")
    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://vllm-qwen:8000/v1")
    model: str | None = Field(None, description="the model id the upstream expects; default: name")
    api_key_env: str | None = Field(None, description="environment variable holding the upstream's API key")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout; past it the request fails over")
    cost: float = Field(0.0, ge=0, description="cost per 1M tokens (or any one unit for every model): when any "
                        "upstream gives one, the cost policy uses these instead of the router's registered costs")

    _check_env = field_validator("api_key_env")(classmethod(lambda cls, v: _env_name(v)))

    _check_url = field_validator("base_url")(classmethod(lambda cls, v: http_url(v)))

    @property
    def upstream_model(self) -> str:
        return self.model or self.name


class AuthSpec(_Strict):
    required: bool = Field(True, description="refuse requests without a valid client key (401)")
    api_keys_env: str | None = Field("RGD_GATEWAY_API_KEYS", description="env var with comma-separated client keys")
    api_keys_file: str | None = Field(None, description="file with one client key a line (a mounted Secret)")

    _check_env = field_validator("api_keys_env")(classmethod(lambda cls, v: _env_name(v)))

    def load_keys(self) -> list[str]:
        """The client keys from the environment variable and the file (ParameterError when required and none)."""
        keys: list[str] = []
        if self.api_keys_env:
            keys += [k.strip() for k in os.environ.get(self.api_keys_env, "").split(",") if k.strip()]
        if self.api_keys_file:
            try:
                text = Path(self.api_keys_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ParameterError(f"auth.api_keys_file: cannot read {self.api_keys_file} ({exc.strerror})") from None
            keys += [k.strip() for k in text.splitlines() if k.strip() and not k.startswith("#")]
        if self.required and not keys:
            raise ParameterError(
                f"auth.required is true but no client API key was found (set ${self.api_keys_env} or "
                "auth.api_keys_file, or auth.required: false for a gateway open to its network)"
            )
        return keys


class RateLimitSpec(_Strict):
    requests_per_s: float = Field(50.0, ge=0, description="sustained requests per second per client key; 0: off")
    burst: int = Field(100, ge=1, description="requests a key may send at once before the rate applies")


class BreakerSpec(_Strict):
    failure_threshold: int = Field(3, ge=1, description="consecutive failures that open an upstream's circuit")
    open_s: float = Field(10.0, gt=0, description="how long an open circuit sends nothing (then one trial request)")


class RoutingSpec(_Strict):
    public_model: str = Field(DEFAULT_MODEL_NAME, min_length=1, description="the model id clients send (':topK' for consensus)")
    max_k: int = Field(5, ge=1, description="largest k a client may ask for in consensus mode")
    batch_window_ms: float | None = Field(
        None, ge=0, description="how long the router waits to batch concurrent questions; default: 2 ms for an "
        "embedder ranked on a worker thread (MiniLM), 0 for one ranked on the event loop (TF-IDF)")
    max_batch: int = Field(64, ge=1, description="most questions embedded in one call")
    prompt_cache_size: int = Field(
        PROMPT_CACHE_SIZE, ge=0, description="questions whose routing results (embedding and scores) the served "
        "version keeps, least recently used out first: a repeated prompt is not embedded again; 0: off")
    embedder_threads: int = Field(
        2, ge=1, description="torch threads of a MiniLM embedder; rgd serve makes them wait asleep "
        "(OMP_WAIT_POLICY=PASSIVE), so on a busy core a second one costs little; set 1 where the environment "
        "makes them spin (OMP_WAIT_POLICY=ACTIVE)")
    embedder_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="a MiniLM embedder's precision; auto: bfloat16 when a probe batch at load shows it at "
        "least 1.25x faster on this machine with vectors agreeing to a cosine of 0.999, else float32")
    embedder_batch_size: int | None = Field(
        None, ge=1, description="a MiniLM embedder's questions per forward pass: a micro-batch's questions, sorted by "
        "length, are embedded this many at a time, each chunk padded to its own longest; default: the embedder's own "
        "(64, so a micro-batch is one pass). 8 embedded long MMLU-Pro questions in bfloat16 with half the CPU of one "
        "pass (the same rankings), but served the gateway benchmark's short questions no faster (benchmarks/README.md, "
        "'Routing gateway side by side')")
    embedder_backend: Literal["torch", "onnx"] = Field(
        "torch", description="who runs a MiniLM embedder's forward pass: torch, or onnx (ONNX Runtime on the same "
        "weights, exported at load; float32, the optional 'onnx' extra). Its vectors agree with torch float32's to a "
        "cosine of 0.9999998 and leave both routers' rankings of 2,000 MMLU-Pro test questions the same; faster than "
        "torch float32, not than bfloat16 on a CPU with AMX (benchmarks/README.md, 'Routing gateway side by side')")
    cost_weight: float = Field(0.0, ge=0, le=1, description="the cost policy's knob for requests that do not send "
                               "rgd_cost_weight: 0 quality only, 1 the cheapest model")


class ServerSpec(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger request bodies get 413")
    log_prompts: bool = Field(False, description="log the routed question text (off: never in logs)")


class DriftSpec(_Strict):
    reference_requests: int = Field(200, ge=2, description="the served version's first shadowed requests: the "
                                    "reference its recent ones are compared with")
    recent_requests: int = Field(40, ge=2, description="the last shadowed requests compared with the reference "
                                 "(40 with z 3.5: benchmarks/README.md, \"Live monitoring through the gateway\", "
                                 "tenth session)")
    accuracy_drop: float = Field(0.05, gt=0, le=1, description="alarm when the routed choice's estimated accuracy "
                                 "falls by more than this")
    agreement_drop: float = Field(0.10, gt=0, le=1, description="alarm when the share of shadowed requests whose "
                                  "routed answer is the strict plurality falls by more than this")
    ood_requests: int = Field(1000, ge=1, description="routed requests per side of the out-of-distribution "
                              "comparison (the version's first ones, the last ones)")
    ood_rise: float = Field(0.10, gt=0, le=1, description="alarm when the share of requests out of distribution "
                            "rises by more than this")
    similarity_shift: float = Field(0.05, gt=0, lt=0.5, description="alarm (similarity_drop) when a reference "
                                    "request is the more like the training questions of a (reference, recent) pair "
                                    "in more than 0.5 + this of pairs, over the same ood_requests windows: a 55/45 "
                                    "tilt, scale-free for any embedder; the z rule decides whether it is real (held-out "
                                    "MMLU-Pro subjects measured 0.61-0.70, in-distribution windows of 1,000 within "
                                    "0.01 of 0.5)")
    z: float = Field(3.5, gt=0, description="evidence an alarm needs: the change at least z standard errors from "
                     "none (the tests are repeated at every refresh: 3.5 keeps false alarms near 4% over 1,000 "
                     "shadowed in-distribution requests)")
    sequential_drop: float = Field(0.25, gt=0, lt=1, description="the drop of the plurality share the sequential "
                                   "test (agreement_cusum, checked at every shadowed request) is tuned to detect "
                                   "soonest: a degraded or replaced model, not the 10-point drift of agreement_drop")
    sequential_threshold: float = Field(9.0, gt=0, description="evidence (log-likelihood ratio, nats) at which the "
                                        "sequential test alarms: an excursion from 0 reaches h with chance at most "
                                        "e^-h under no change, whatever the pool (measured: ~4% false alarms over "
                                        "1,000 shadowed in-distribution requests, benchmarks/README.md)")
    retrain_command: list[str] | None = Field(None, min_length=1, description="a command started (not waited for) "
                                              "on an alarm, e.g. [rgd, run, --config, configs/x.yaml]; null: none")
    retrain_job: str | None = Field(None, max_length=52, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                                    description="on Kubernetes: the CronJob (in the gateway's namespace) a Job is "
                                    "created from on an alarm, through the in-cluster API (rgd.serving.retrain), e.g. "
                                    "rgd-retrain; null: none")
    cooldown_s: float = Field(3600.0, gt=0, description="an alarm of one kind is raised at most once per this time "
                              "and router version, and the retraining command started (the Job created) at most once "
                              "per this time and version whatever the kind")


class MonitoringSpec(_Strict):
    share: float = Field(0.02, ge=0, le=1, description="share of top-1 requests also sent, in shadow once the "
                         "user's reply is on its way, to the models ranked after the one that answered; 0: off")
    shadow_models: int = Field(2, ge=1, description="k: how many of the models ranked after the one that answered "
                               "get the shadow copy (those whose circuit is closed)")
    seed: int = Field(0, description="seeds which requests are sampled")
    max_per_s: float = Field(5.0, gt=0, description="most requests shadowed per second (a token bucket); a sampled "
                             "request past it is skipped and counted")
    max_concurrency: int = Field(8, ge=1, description="most shadow calls in flight; a sampled request that would "
                                 "pass it is skipped and counted")
    budget_calls: int = Field(100_000, ge=0, description="most shadow calls per budget period")
    budget_period_s: float | None = Field(86_400.0, gt=0, description="the budget's period (default a day); "
                                          "null: budget_calls over the process's life")
    timeout_s: float = Field(30.0, gt=0, description="a shadow call's timeout (the upstream's timeout_s if smaller)")
    window: int = Field(2000, ge=10, description="the last shadowed requests the estimate reads")
    min_requests: int = Field(30, ge=1, description="shadowed requests before the truth estimate (EM) replaces "
                              "the majority vote as the estimated accuracy")
    refresh_s: float = Field(30.0, gt=0, description="how often the estimate is recomputed (in a process of its "
                             "own) when new shadow answers came in")
    keep_ood_questions: int = Field(0, ge=0, description="the last N questions out of distribution kept in memory "
                                    "(their text), to seed the next generation's subjects; 0: no user text is kept")
    boost_share: float = Field(0.2, ge=0, le=1, description="the share sampled while the sequential test's evidence "
                               "is at least boost_evidence (a drop is building): its decision comes in fewer "
                               "requests; every other bound still applies; at most share: no boost")
    boost_evidence: float = Field(1.5, gt=0, description="the sequential test's evidence (nats) from which the "
                                  "boost applies: often reached by chance, but the credit caps what that spends "
                                  "(measured: 3.9% -> 4.1-4.3% of upstream calls without drift)")
    max_shadow_share: float = Field(0.05, gt=0, lt=1, description="the boost's cap: a boosted request is shadowed "
                                    "only while the shadow calls stay within this share of all upstream calls "
                                    "(a credit earned by each upstream call; the base share is not held to it)")
    boost_credit_calls: int = Field(100, ge=0, description="most shadow calls the boost's unused credit keeps: the "
                                    "longest boost burst beyond max_shadow_share")
    drift: DriftSpec = DriftSpec()

    @property
    def enabled(self) -> bool:
        return self.share > 0 and self.budget_calls > 0


class GatewayConfig(_Strict):
    registry: RegistrySpec = RegistrySpec()
    pool: list[UpstreamSpec] = Field(min_length=1)
    auth: AuthSpec = AuthSpec()
    rate_limit: RateLimitSpec = RateLimitSpec()
    breaker: BreakerSpec = BreakerSpec()
    routing: RoutingSpec = RoutingSpec()
    server: ServerSpec = ServerSpec()
    monitoring: MonitoringSpec = MonitoringSpec()

    @field_validator("pool")
    @classmethod
    def _unique_names(cls, pool: list[UpstreamSpec]) -> list[UpstreamSpec]:
        names = [u.name for u in pool]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"each pool model's name must be unique; named more than once: {dupes}")
        return pool

    def pool_costs(self) -> dict[str, float] | None:
        """Every upstream's cost when any is given (> 0), else None (the router's registered costs apply)."""
        if not any(u.cost > 0 for u in self.pool):
            return None
        return {u.name: u.cost for u in self.pool}

    def upstream(self, name: str) -> UpstreamSpec | None:
        return next((u for u in self.pool if u.name == name), None)


def parse_gateway_config(data: object, source: str = "gateway config") -> GatewayConfig:
    """Validate a gateway config as run configs are: strict types (``"8080"`` is not a port, ``"no"`` not a
    boolean), the field named, and a plain-text secret anywhere (credentials in a ``base_url``, a key where
    a variable's name belongs) refused without being shown."""
    if not isinstance(data, dict):
        raise DataError("a gateway config is a mapping (registry, pool, auth, ...)", path=source)
    secrets = find_plaintext_secrets(data)
    if secrets:
        lines = "; ".join(f"{f.field}: {f.reason} (not shown); {f.instead}" for f in secrets)
        raise ParameterError(f"{source}: plain-text secret in the gateway config, refused: {lines}")
    try:
        return GatewayConfig.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ParameterError(f"{source}: {validation_message(exc)}") from None


def load_gateway_config(path: str | Path) -> GatewayConfig:
    """Read and validate a gateway config file (duplicate keys refused, as in run configs)."""
    return parse_gateway_config(read_yaml(path), str(path))
