"""Every router by name, so evaluation, MLflow logging and serving can treat them alike.

The list below is the one list of router types; it fills ``ROUTERS`` (the dict lives in
:mod:`rgd.routers.base`, so ``Router.load`` reads saved routers through it without importing this module
back). :func:`make_router` builds from it. A new router is added here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rgd.errors import DataError, ParameterError
from rgd.routers.base import ROUTERS, Router, TrainingSet, register_routers
from rgd.routers.cascal import CascalGTRouter, CascalRouter
from rgd.routers.query_answer import KnnConsensusRouter, KnnRouter, MlpRouter
from rgd.routers.simple import BestSingleRouter, RandomRouter
from rgd.routers.truth_cluster import TruthClusterRouter

register_routers(
    TruthClusterRouter, CascalRouter, CascalGTRouter, KnnConsensusRouter, KnnRouter, MlpRouter, BestSingleRouter,
    RandomRouter,
)

__all__ = ["DEFAULT_ROUTER", "ROUTERS", "fit_router", "make_router"]

#: the router a run trains and registers unless its config names another (the product's; ``cascal`` is the paper's)
DEFAULT_ROUTER = TruthClusterRouter.name


def fit_router(name: str, params: dict[str, Any], train: TrainingSet) -> Router:
    """Build and fit a router; routers that learn without labels never see the answer keys."""
    router = make_router(name, **params)
    if router.uses_labels:
        keyed = np.flatnonzero(train.table.answers >= 0)
        if keyed.size == 0:
            raise DataError(f"the {name!r} router learns from answer keys, and no training question has one")
        if keyed.size < train.table.n_questions:  # questions the generator left without a key
            train = train.take(keyed)
    else:
        blind = train.table.with_answers(np.full(train.table.n_questions, -1))
        train = TrainingSet(blind, train.embeddings, train.consensus, train.generator_keys)
    return router.fit(train)


def make_router(name: str, **params: Any) -> Router:
    if name not in ROUTERS:
        raise ParameterError(f"unknown router {name!r}; choose from {sorted(ROUTERS)}")
    try:
        return ROUTERS[name](**params)
    except TypeError as exc:
        raise ParameterError(f"bad parameters for the {name!r} router: {exc}") from None
