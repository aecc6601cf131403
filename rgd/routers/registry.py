"""Every router by name, so evaluation, MLflow logging and serving can treat them alike."""

from __future__ import annotations

from typing import Any

import numpy as np

from rgd.routers.base import Router, TrainingSet
from rgd.routers.cascal import CascalGTRouter, CascalRouter
from rgd.routers.query_answer import KnnConsensusRouter, KnnRouter, MlpRouter
from rgd.routers.simple import BestSingleRouter, RandomRouter

ROUTERS: dict[str, type[Router]] = {
    cls.name: cls for cls in (
        CascalRouter, CascalGTRouter, KnnConsensusRouter, KnnRouter, MlpRouter, BestSingleRouter, RandomRouter
    )
}


def fit_router(name: str, params: dict[str, Any], train: TrainingSet) -> Router:
    """Build and fit a router; routers that learn without labels never see the answer keys."""
    router = make_router(name, **params)
    if not router.uses_labels:
        blind = train.table.with_answers(np.full(train.table.n_questions, -1))
        train = TrainingSet(blind, train.embeddings, train.consensus)
    return router.fit(train)


def make_router(name: str, **params: Any) -> Router:
    if name not in ROUTERS:
        raise ValueError(f"unknown router {name!r}; choose from {sorted(ROUTERS)}")
    try:
        return ROUTERS[name](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {name!r} router: {exc}") from None
