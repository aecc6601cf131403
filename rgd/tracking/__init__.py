"""MLflow layer: tracking configuration, logging and registering routers, promotion, listing.

Needs the ``pipeline`` extra (mlflow). Nothing here imports mlflow at import time except
``rgd.tracking.pyfunc_model`` (the served model class), which this package never imports itself.
"""

from __future__ import annotations

from rgd.tracking.config import (
    DEFAULT_EXPERIMENT,
    DEFAULT_MODEL_NAME,
    configure_mlflow,
    rgd_home,
    tracking_uri,
)
from rgd.tracking.listing import list_versions
from rgd.tracking.log_router import RegisteredVersion, log_router
from rgd.tracking.promotion import PromotionDecision, promote, rollback, set_alias_manually

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "PromotionDecision",
    "RegisteredVersion",
    "configure_mlflow",
    "list_versions",
    "log_router",
    "promote",
    "rgd_home",
    "rollback",
    "set_alias_manually",
    "tracking_uri",
]
