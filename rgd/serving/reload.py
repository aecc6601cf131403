"""The router being served, and hot reload: follow the registry alias, swap atomically, refuse bad versions.

A :class:`RouterSource` says which version the alias points at and loads a version as a verified
:class:`~rgd.routers.bundle.RouterBundle` (the MLflow implementation is
:class:`rgd.tracking.serving_source.RegistrySource`, wired in by ``rgd serve``; this package never imports
MLflow). :class:`RouterHolder` keeps the current :class:`LoadedRouter`: a request takes it once and uses
that object to the end, so swapping the reference is atomic and in-flight requests finish on the old one.
A version that fails to load or verify is refused (logged, counted) and the old one keeps serving; it is
tried again every ``retry_refused_s`` while the alias points at it (its artifacts may have been repaired, or
the registry was briefly unreachable), and at once when the alias moves to it again. No artifact store gives
a cheap sign that a version's files changed (a flipped byte keeps every size), so a retry downloads and
verifies the version again.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Protocol, Sequence

import numpy as np

from rgd.embedding.registry import MINILM_KIND
from rgd.serving.batcher import WINDOW_S, MicroBatcher
from rgd.serving.metrics import GatewayMetrics
from rgd.serving.openmp import one_blas_thread
from rgd.serving.prompt_cache import PROMPT_CACHE_SIZE, PromptCache

log = logging.getLogger(__name__)


class Routed(NamedTuple):
    """What :meth:`LoadedRouter.rank` says of one question: every pool model the router knows, best first; the
    warning of a question it knows nothing about (:func:`rgd.routers.bundle.query_warnings`); whether it is
    out of distribution and its training similarity (:meth:`RouterBundle.out_of_distribution`; both None for
    a bundle without coverage) and the note of a flagged one (:meth:`RouterBundle.ood_notes`); its skill cluster
    (:func:`rgd.routers.skill_clusters.skill_clusters`: what live monitoring reports per cluster)."""

    models: list[str]
    warning: str | None = None
    out_of_distribution: bool | None = None
    similarity: float | None = None
    note: str | None = None
    cluster: int = 0


class RouterSource(Protocol):
    name: str

    def current_version(self) -> str:
        """The version the served alias points at now."""

    def load(self, version: str) -> Any:
        """That version's bundle, verified (raises on anything amiss)."""


#: torch embedders: they take ``torch_threads`` and are ranked on a worker thread, since torch releases the GIL
#: while it computes and the event loop keeps serving; every other embedder (TF-IDF: ~0.3 ms a question, holding
#: the GIL) is ranked on the event loop and batches only what arrived meanwhile (no window by default)
TORCH_EMBEDDERS = frozenset({MINILM_KIND})


@dataclass
class LoadedRouter:
    """One served router version. The batcher embeds and scores concurrent questions together (a question asked
    twice in one batch once), and the prompt cache keeps what it computed per question text
    (:mod:`rgd.serving.prompt_cache`); each request then ranks its row of scores with its own cost weight
    (:meth:`rgd.routers.bundle.RouterBundle.rank`: 0, the router's own ranking; above 0, the bundle's cost policy
    with the gateway's costs where it gives them)."""

    version: str
    bundle: Any  # RouterBundle
    window_s: float | None = None  # None: WINDOW_S for a torch embedder, 0 for any other
    max_batch: int = 64
    metrics: GatewayMetrics | None = None
    torch_threads: int = 1
    costs: dict[str, float] | None = None  # the gateway's per-model costs; None: the registered ones
    embedder_precision: str = "auto"  # a torch embedder's: float32, bfloat16, or auto (measured at load)
    prompt_cache_size: int = PROMPT_CACHE_SIZE  # questions whose results are kept (0: none)
    embedder_backend: str = "torch"  # a MiniLM embedder's forward pass: torch, or onnx (ONNX Runtime, float32)
    embedder_batch_size: int | None = None  # a MiniLM embedder's questions per forward pass (None: its own)
    batcher: MicroBatcher = field(init=False)
    cache: PromptCache = field(init=False)

    def __post_init__(self) -> None:
        inner = self.embedder
        if getattr(inner, "show_progress", False):
            inner.show_progress = False  # no progress bar per request batch
        offloaded = getattr(inner, "kind", None) in TORCH_EMBEDDERS
        if offloaded:
            # more than one thread only with OpenMP's passive wait (rgd serve sets it: rgd.serving.openmp); spinning
            # threads on shared cores made a 64-question batch take 1.9 s with 2 threads instead of 0.9 s with 1
            import torch

            torch.set_num_threads(self.torch_threads)
            if self.embedder_batch_size is not None:  # a batch in chunks of similar length: less padding
                inner.batch_size = self.embedder_batch_size
            self._set_precision(inner)
        one_blas_thread()  # the router's products are small: a second BLAS thread only waits for a core
        on_batch = on_lookup = None
        if self.metrics is not None:
            def on_batch(n: int, seconds: float) -> None:
                self.metrics.batch_size.observe(n)
                self.metrics.batch_seconds.observe(seconds)

            hits, misses = self.metrics.prompt_cache_hits, self.metrics.prompt_cache_misses

            def on_lookup(hit: bool) -> None:
                (hits if hit else misses).inc()
        self.cache = PromptCache(self.prompt_cache_size, on_lookup)
        window = self.window_s if self.window_s is not None else (WINDOW_S if offloaded else 0.0)
        if self.costs and self.bundle.policy is not None:
            # models the gateway does not serve are never routed to; they take the dearest cost given
            dearest = max(self.costs.values())
            self.bundle = self.bundle.with_costs({m: self.costs.get(m, dearest) for m in self.bundle.policy.models})
        self.batcher = MicroBatcher(self._score_batch, window, self.max_batch, on_batch, inline=not offloaded)

    def _set_precision(self, embedder) -> None:
        if self.embedder_backend != "torch":  # ONNX Runtime runs the float32 weights
            embedder.precision = "float32"
            embedder.backend = self.embedder_backend
            embedder.embed(["a first question, so the export is made at load, not at the first request"])
            return
        if self.embedder_precision != "auto":
            embedder.precision = self.embedder_precision
            return
        from rgd.embedding.sentence import faster_precision

        precision, speedup, cosine = faster_precision(embedder)
        log.info("version %s embeds in %s (bfloat16 measured %.2fx as fast as float32, lowest cosine %.5f)",
                 self.version, precision, speedup, cosine)

    @property
    def embedder(self):
        """The bundle's embedder itself (inside the embedding cache, if the bundle wraps it in one)."""
        from rgd.routers.bundle import unwrap_embedder

        return unwrap_embedder(self.bundle.embedder)

    @property
    def precision(self) -> str:
        """The embedder's numeric precision (float32 for every embedder but a MiniLM set to bfloat16)."""
        return getattr(self.embedder, "precision", "float32")

    def close(self) -> None:
        """Stop the batcher (a retired version, or the gateway shutting down)."""
        self.batcher.close()

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.bundle.models)

    def _score_batch(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, Routed]]:
        """Per question: the router's scores, its correctness scores (the cost policy's input,
        :meth:`RouterBundle.score`) and its :class:`Routed`, ranked at cost weight 0 (:meth:`RouterBundle.rank`,
        the batch at once: what most requests ask, kept with the rest in the prompt cache)."""
        from rgd.routers.bundle import query_warnings
        from rgd.routers.skill_clusters import skill_clusters

        unique = list(dict.fromkeys(texts))  # the same question twice in a batch is embedded once
        if len(unique) < len(texts):
            found = dict(zip(unique, self._score_batch(unique)))
            return [found[t] for t in texts]
        x = self.bundle.embedder.embed(unique)
        scored = self.bundle.score(x)
        ood = self.bundle.out_of_distribution(x)
        known = self.bundle.coverage is not None
        flags, sims = (ood.out_of_distribution.tolist(), ood.similarity.tolist()) if known else ([None] * len(x),) * 2
        models = self.bundle.models
        ranked = [[models[j] for j in row] for row in self.bundle.rank(scored, 0.0).order.tolist()]
        said = [Routed(*fields) for fields in zip(ranked, query_warnings(x), flags, sims, self.bundle.ood_notes(ood),
                                                  skill_clusters(self.bundle.router, x).tolist())]
        return list(zip(scored.scores, scored.correctness, said))

    async def rank(self, text: str, cost_weight: float = 0.0) -> Routed:
        """This question's :class:`Routed`: the pool ranked by :meth:`RouterBundle.rank` (a
        :class:`~rgd.routers.policy.CostWeightError` above 0 without a cost policy), its warning and whether
        it is out of distribution."""
        from rgd.routers.bundle import Scored
        from rgd.routers.policy import check_cost_weight

        found = self.cache.get(text)
        if found is None:
            found = await self.batcher.submit(text)
            self.cache.put(text, found)
        scores, correctness, said = found
        if check_cost_weight(cost_weight) == 0.0:  # refused as RouterBundle.rank refuses it; 0: ranked already
            return said._replace(models=list(said.models))  # a copy: the cached one is shared
        order = self.bundle.rank(Scored(scores[None, :], correctness[None, :]), cost_weight).order[0]
        models = self.bundle.models
        return said._replace(models=[models[j] for j in order.tolist()])


def freeze_long_lived() -> None:
    """Move every object alive now (the libraries, the loaded router) out of the cyclic collector's reach.

    A full collection walks every tracked object, and MLflow, scikit-learn and torch leave hundreds of thousands:
    measured on the gateway (benchmarks/README.md), those pauses were most of its p99 at 64 concurrent requests.
    Frozen objects are still freed by reference counting; the previous freeze is undone first so that a retired
    router's cycles are collected at the next swap rather than kept for ever."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class RouterHolder:
    """The served version, and the registry's: ``check_once`` reads the alias, loads and swaps in what it
    points at. ``vet`` (the gateway's) may refuse a loaded version by raising; ``refused`` holds, per refused
    version, when and why."""

    def __init__(self, source: RouterSource, metrics: GatewayMetrics, window_s: float | None, max_batch: int,
                 poll_interval_s: float, torch_threads: int = 1, costs: dict[str, float] | None = None,
                 embedder_precision: str = "auto", retry_refused_s: float = 300.0,
                 vet: Callable[[LoadedRouter], None] | None = None, prompt_cache_size: int = PROMPT_CACHE_SIZE,
                 embedder_backend: str = "torch", embedder_batch_size: int | None = None) -> None:
        self.source = source
        self.embedder_backend = embedder_backend
        self.embedder_batch_size = embedder_batch_size
        self.prompt_cache_size = prompt_cache_size
        self.embedder_precision = embedder_precision
        self.costs = costs
        self.torch_threads = torch_threads
        self.metrics = metrics
        self.window_s = window_s
        self.max_batch = max_batch
        self.poll_interval_s = poll_interval_s
        self.retry_refused_s = retry_refused_s
        self.vet = vet
        self.current: LoadedRouter | None = None
        self.alias_version: str | None = None  # what the alias pointed at when the registry last answered
        self.refused: dict[str, tuple[float, str]] = {}  # version -> (time.monotonic() when refused, why)
        self.last_refusal: Exception | None = None
        self.last_error: str | None = None
        self.last_registry_error: Exception | None = None  # why the alias could not be read last time, if not

    @property
    def alias_refused(self) -> str | None:
        """Why the version the alias points at was refused, while another (or none) is served; else None."""
        v = self.alias_version
        if v is None or v not in self.refused or (self.current is not None and self.current.version == v):
            return None
        return self.refused[v][1]

    @property
    def alias_loading(self) -> str | None:
        """The version the alias points at while it loads for the first time in place of the served one (it
        has not been refused); else None."""
        v = self.alias_version
        if v is None or v in self.refused or (self.current is not None and self.current.version == v):
            return None
        return v

    def load_version(self, version: str) -> LoadedRouter | None:
        """Load and verify ``version`` (blocking); None, logged and counted, when it is refused."""
        try:
            # a malformed cost policy refuses the version too
            loaded = LoadedRouter(version, self.source.load(version), self.window_s, self.max_batch, self.metrics,
                                  self.torch_threads, self.costs, self.embedder_precision, self.prompt_cache_size,
                                  self.embedder_backend, self.embedder_batch_size)
            if self.vet is not None:
                try:
                    self.vet(loaded)
                except Exception:
                    loaded.close()
                    raise
        except Exception as exc:  # noqa: BLE001 - any failure to load or verify refuses the version
            self.last_refusal = exc
            self.last_error = f"version {version} refused: {exc}"
            self.refused[version] = (time.monotonic(), str(exc))
            self.metrics.reloads.labels(result="refused").inc()
            log.error("router %s version %s refused, keeping %s: %s", self.source.name, version,
                      self.current.version if self.current else "nothing", exc)
            return None
        self.refused.pop(version, None)
        self.metrics.reloads.labels(result="loaded").inc()
        return loaded

    def swap(self, loaded: LoadedRouter) -> None:
        old, self.current = self.current, loaded
        freeze_long_lived()
        self.metrics.set_version(self.source.name, loaded.version, loaded.precision)
        log.info("serving router %s version %s (was %s)", self.source.name, loaded.version, old.version if old else "none")
        if old is not None:
            # the old batcher stops once the requests that took it have had time to finish
            asyncio.get_event_loop().call_later(120, old.close)

    async def check_once(self) -> bool:
        """Ask the registry; load and swap in a new version. True when a new version is now served."""
        try:
            version = await asyncio.to_thread(self.source.current_version)
        except Exception as exc:  # noqa: BLE001 - registry unreachable: keep serving, try again later
            self.last_error = f"registry: {exc}"
            self.last_registry_error = exc
            log.warning("cannot read %s from the registry: %s", self.source.name, exc)
            return False
        self.last_registry_error = None
        moved, self.alias_version = version != self.alias_version, version
        if self.current is not None and version == self.current.version:
            return False
        refused = self.refused.get(version)
        if refused is not None and not moved and time.monotonic() - refused[0] < self.retry_refused_s:
            return False
        loaded = await asyncio.to_thread(self.load_version, version)
        if loaded is None:
            return False
        self.swap(loaded)
        return True

    async def poll_forever(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self.poll_interval_s)
