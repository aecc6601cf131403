"""Every router by name, so evaluation, MLflow logging and serving can treat them alike."""

from __future__ import annotations

from typing import Any

from rgd.routers.base import Router
from rgd.routers.cascal import CascalGTRouter, CascalRouter
from rgd.routers.query_answer import KnnConsensusRouter, KnnRouter, MlpRouter
from rgd.routers.simple import BestSingleRouter, RandomRouter

ROUTERS: dict[str, type[Router]] = {
    cls.name: cls for cls in (
        CascalRouter, CascalGTRouter, KnnConsensusRouter, KnnRouter, MlpRouter, BestSingleRouter, RandomRouter
    )
}


def make_router(name: str, **params: Any) -> Router:
    if name not in ROUTERS:
        raise ValueError(f"unknown router {name!r}; choose from {sorted(ROUTERS)}")
    try:
        return ROUTERS[name](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {name!r} router: {exc}") from None
