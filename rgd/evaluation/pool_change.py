"""A pool change between a champion and a challenger, and the champion's routes in the challenger's pool.

When the pool a challenger was trained on differs from its champion's (a model added, one removed, one replaced
by a new version under a new name), the two routers' estimates are not on the same pool and cannot be compared
as they stand. The champion is measured again in the challenger's pool instead: each of its routes to a model
that left the pool goes to its next choice that is still there (its ranking, filtered), so both routers are
read on the same questions answered by the same pool. Where none of the models the champion ranks remains, it
cannot serve the new pool at all (:attr:`PoolChange.servable` False).

Nothing here reads an answer key: only the two pools' names and the champion's rankings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rgd.errors import ParameterError

#: the cases of a pool change (promotion log, tags): what happened between the champion's pool and the challenger's
ADDED, REMOVED, REPLACED, REMOVED_RELIED_ON, UNSERVABLE, SAME_POOL = (
    "added", "removed", "replaced", "removed_relied_on", "unservable", "same_pool")
POOL_CHANGE_CASES = (ADDED, REMOVED, REPLACED, REMOVED_RELIED_ON, UNSERVABLE, SAME_POOL)


@dataclass(frozen=True)
class PoolChange:
    """The champion's pool against the challenger's: which models came, which left."""

    champion_pool: tuple[str, ...]
    challenger_pool: tuple[str, ...]

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(m for m in self.challenger_pool if m not in self.champion_pool)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(m for m in self.champion_pool if m not in self.challenger_pool)

    @property
    def kept(self) -> tuple[str, ...]:
        """The champion's models still in the challenger's pool, in the champion's order."""
        return tuple(m for m in self.champion_pool if m in self.challenger_pool)

    @property
    def servable(self) -> bool:
        """Whether the champion can route in the challenger's pool at all (one of its models remains)."""
        return bool(self.kept)

    def case(self, rerouted_share: float = 0.0) -> str:
        """Which case this is (:data:`POOL_CHANGE_CASES`); ``rerouted_share``: the share of questions whose
        champion's first choice left the pool (a removal the champion relied on when above 0)."""
        if not self.servable:
            return UNSERVABLE
        if self.added and self.removed:
            return REPLACED
        if self.removed:
            return REMOVED_RELIED_ON if rerouted_share > 0 else REMOVED
        return ADDED if self.added else SAME_POOL

    def describe(self, rerouted_share: float | None = None) -> str:
        """One phrase for the promotion log: the case, the models, the share of routes re-routed."""
        case = self.case(rerouted_share or 0.0)
        parts = []
        if self.added:
            parts.append(f"added {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        if case == UNSERVABLE:
            parts.append("none of the champion's models remains: it cannot serve the new pool")
        elif rerouted_share is not None and self.removed:
            parts.append(f"{rerouted_share:.1%} of the champion's routes went to a removed model and are re-routed "
                         "to its next choice")
        return f"pool change ({case}): " + ("; ".join(parts) or "the same models in another order")


def pool_change(champion_pool: Sequence[str], challenger_pool: Sequence[str]) -> PoolChange:
    for pool in (champion_pool, challenger_pool):
        if len(set(pool)) != len(pool):
            raise ParameterError(f"a pool names a model twice: {list(pool)}")
    return PoolChange(tuple(champion_pool), tuple(challenger_pool))


def reroute(ranks: np.ndarray, change: PoolChange) -> tuple[np.ndarray, np.ndarray]:
    """The champion's rankings ``ranks`` (Q, k: indices into its own pool, best first) in the challenger's pool:
    (Q, k') indices into the challenger's pool, each row the champion's ranking with the models that left the
    pool dropped (so a route to a removed model goes to the champion's next choice), and (Q,) whether the
    champion's first choice was removed. Refused when the champion cannot serve the pool (nothing remains)."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 2 or (ranks.size and (ranks.min() < 0 or ranks.max() >= len(change.champion_pool))):
        raise ParameterError(f"the champion's rankings must be (questions, k) indices into its pool of "
                             f"{len(change.champion_pool)} models, got shape {ranks.shape}")
    if not change.servable:
        raise ParameterError(f"none of the champion's models ({', '.join(change.champion_pool)}) is in the "
                             f"challenger's pool ({', '.join(change.challenger_pool)}): nothing to re-route to")
    position = {m: i for i, m in enumerate(change.challenger_pool)}
    mapping = np.array([position.get(m, -1) for m in change.champion_pool])
    mapped = mapping[ranks]  # (Q, k), -1 where the model left the pool
    keep = mapped >= 0
    width = keep.sum(axis=1)
    if len(width) and (width != width[0]).any():
        raise ParameterError("the champion's rankings name a different number of remaining models per question: "
                             "each row must rank the same models")
    k = int(width[0]) if len(width) else 0
    if len(width) and k == 0:
        raise ParameterError("the champion's rankings name none of the models that remain in the pool")
    out = mapped[keep].reshape(len(mapped), k)
    first_removed = mapped[:, 0] < 0 if len(mapped) else np.zeros(0, dtype=bool)
    return out, first_removed
