"""The champion's rankings in a changed pool: routes to a model that left go to its next choice; the cases."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.errors import ParameterError
from rgd.evaluation.pool_change import (
    ADDED,
    REMOVED,
    REMOVED_RELIED_ON,
    REPLACED,
    SAME_POOL,
    UNSERVABLE,
    pool_change,
    reroute,
)


def test_reroute_drops_the_models_that_left_and_maps_the_rest_by_name():
    change = pool_change(["a", "b", "c"], ["c", "new", "a"])  # b left, new came, the order changed
    ranks = np.array([[1, 0, 2], [0, 1, 2], [2, 1, 0]])  # b first, a first, c first
    out, first_removed = reroute(ranks, change)
    # rows name the challenger's pool: a -> 2, c -> 0; b's route goes to the champion's next choice
    assert out.tolist() == [[2, 0], [2, 0], [0, 2]]
    assert first_removed.tolist() == [True, False, False]
    assert change.case(first_removed.mean()) == REPLACED and change.added == ("new",) and change.removed == ("b",)


def test_the_cases():
    assert pool_change(["a", "b"], ["a", "b", "c"]).case() == ADDED
    assert pool_change(["a", "b", "c"], ["a", "b"]).case(0.0) == REMOVED
    assert pool_change(["a", "b", "c"], ["a", "b"]).case(0.3) == REMOVED_RELIED_ON
    assert pool_change(["a", "b"], ["b", "a"]).case() == SAME_POOL
    gone = pool_change(["a", "b"], ["c", "d"])
    assert gone.case() == UNSERVABLE and not gone.servable and "cannot serve" in gone.describe()
    with pytest.raises(ParameterError, match="nothing to re-route to"):
        reroute(np.array([[0, 1]]), gone)
    with pytest.raises(ParameterError, match="indices into its pool"):
        reroute(np.array([[0, 5]]), pool_change(["a", "b"], ["a", "c"]))
    with pytest.raises(ParameterError, match="twice"):
        pool_change(["a", "a"], ["a", "b"])
