"""A challenger trained on another pool than the champion's: the champion measured again in the challenger's pool.

Before a new version is registered, :func:`champion_remeasure` looks at the current champion: when its pool (tag
``pool``) differs from the new version's, it loads the champion's bundle from the registry (verified like the
gateway's) and has the caller's ``measure`` score it on the new version's own questions with the new version's
pool (:func:`rgd.workflow.pool_change.remeasure_champion`). The result goes into the new version's run and tags:
metrics ``champion_remeasured.<metric>`` and tags ``pool_change.*`` naming the champion version, the case
(added, removed, replaced, removed_relied_on, unservable), the models and the share of routes re-routed. The
promotion gate (:mod:`rgd.tracking.promotion`) compares against those when they name the current champion.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from rgd.config.aliases import CHAMPION
from rgd.errors import RGDError
from rgd.tracking.promotion import (
    POOL_CHANGE_TAGS,
    REMEASURED_CHAMPION_TAG,
    REMEASURED_PREFIX,
    current_champion,
    is_complete,
)

log = logging.getLogger(__name__)

POOL_TAG = "pool"


def pool_of(mv) -> tuple[str, ...]:
    """The pool a registered version routes over (its ``pool`` tag)."""
    return tuple(m for m in (mv.tags or {}).get(POOL_TAG, "").split(",") if m)


def champion_remeasure(model_name: str, pool: tuple[str, ...] | list[str], measure: Callable[[Any], Any],
                       tracking_uri: str | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """(metrics, tags) for a new version over ``pool``: the current champion measured again in that pool by
    ``measure(bundle) -> Remeasure``; ({}, {}) when there is no (complete) champion or its pool is the same."""
    from rgd.tracking.serving_source import RegistrySource

    source = RegistrySource(model_name, CHAMPION, uri=tracking_uri)
    champion = current_champion(model_name, CHAMPION, source.client)
    if champion is None or not is_complete(champion) or pool_of(champion) == tuple(pool):
        return {}, {}
    try:
        remeasure = measure(source.load(str(champion.version)))
    except RGDError as exc:  # a champion that cannot be loaded or scored: the gate refuses as it did before
        log.warning("champion v%s of %s could not be measured again in the new pool: %s", champion.version,
                    model_name, exc)
        return {}, {POOL_CHANGE_TAGS["description"]: f"champion v{champion.version} could not be measured again "
                                                     f"in this pool: {exc}"[:4900]}
    tags = {
        REMEASURED_CHAMPION_TAG: str(champion.version),
        POOL_CHANGE_TAGS["case"]: remeasure.case,
        POOL_CHANGE_TAGS["added"]: ",".join(remeasure.change.added),
        POOL_CHANGE_TAGS["removed"]: ",".join(remeasure.change.removed),
        POOL_CHANGE_TAGS["servable"]: str(remeasure.servable).lower(),
        POOL_CHANGE_TAGS["description"]: remeasure.describe(),
        POOL_CHANGE_TAGS["champion_pool"]: ",".join(remeasure.change.champion_pool),
    }
    if remeasure.rerouted_share is not None:
        tags[POOL_CHANGE_TAGS["rerouted_share"]] = f"{remeasure.rerouted_share:.6g}"
    if remeasure.estimate_on is not None:
        tags[POOL_CHANGE_TAGS["estimate_on"]] = remeasure.estimate_on
    metrics = {REMEASURED_PREFIX + k: v for k, v in remeasure.metrics.items()}
    log.info("champion v%s of %s measured again in the new pool: %s", champion.version, model_name,
             remeasure.describe())
    return metrics, tags
