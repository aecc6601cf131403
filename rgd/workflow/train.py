"""Steps 5, embed and train: embed the questions; fit the product's router and its baselines on one data set.

:func:`fit_routers` is the one place routers are fitted, for the pipeline and ``evaluate-recorded``: one seed
drives every seeded router, and label-free routers never see the keys (:func:`rgd.routers.registry.fit_router`).
"""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from rgd.config.run_config import EmbedderSpec, RouterSpec
from rgd.home import embedding_cache_dir
from rgd.routers.base import Router, TrainingSet
from rgd.routers.registry import ROUTERS, fit_router
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet, RouterSet
from rgd.workflow.training_data import TrainingData

log = logging.getLogger(__name__)


def embed_stage(spec: EmbedderSpec, train: QuestionSet, test: QuestionSet, cache_dir: Path | None = None):
    """Fit the embedder of the run's ``embedder`` section on the training texts; embed both sets (through the
    on-disk cache)."""
    from rgd.embedding import fit_and_embed

    embedder, train_v, test_v = fit_and_embed(spec.kind, train.texts, test.texts, cache_dir or embedding_cache_dir(),
                                              **spec.params)
    train_x = EmbeddingMatrix(tuple(train.ids), train_v, embedder.identity, embedder.kind)
    test_x = EmbeddingMatrix(tuple(test.ids), test_v, embedder.identity, embedder.kind)
    return embedder, train_x, test_x


def seeded_params(name: str, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The router's parameters with ``seed`` filled in where it takes one and none was given."""
    if "seed" in inspect.signature(ROUTERS[name]).parameters:
        return {"seed": seed, **params}
    return dict(params)


def fit_routers(names: Sequence[str], params: Mapping[str, Mapping[str, Any]], train: TrainingSet,
                seed: int = 0) -> tuple[dict[str, Router], dict[str, float]]:
    """Fit each named router (in order, once) on the same training set; returns them and their fit times."""
    fitted: dict[str, Router] = {}
    seconds: dict[str, float] = {}
    for name in dict.fromkeys(names):
        t0 = time.perf_counter()
        fitted[name] = fit_router(name, seeded_params(name, params.get(name, {}), seed), train)
        seconds[name] = time.perf_counter() - t0
        log.info("trained %s in %.2fs", name, seconds[name])
    return fitted, seconds


def train_stage(spec: RouterSpec, data: TrainingData, seed: int = 0) -> RouterSet:
    """Train the router of the run's ``router`` section and its baselines on the same training set."""
    routers, _ = fit_routers([spec.name, *spec.baselines], {spec.name: spec.params}, data.training_set, seed=seed)
    return RouterSet(routers, spec.name)
