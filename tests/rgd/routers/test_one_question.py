"""The one-question shortcuts of the route path (CASCAL's scores, the coverage product, the blank-question warning)
give what the general path gives: the gateway ranks one question at a time at low load."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.routers import cascal as cascal_module
from rgd.routers import coverage as coverage_module
from rgd.routers.bundle import BLANK_QUERY_WARNING, query_warnings
from rgd.routers.coverage import nearest_similarity
from tests.rgd.tracking.synthetic import fit_bundle, synthetic_pool


@pytest.fixture(scope="module")
def asked() -> list[str]:
    fresh, _ = synthetic_pool(seed=5)
    return fresh + ["", "zebra xylophone saxophone", "cell cell cell court court market"]


def sorted_groups(subject):
    """The general path's grouping (sort, split), also for one question: the reference of the shortcut."""
    order = np.argsort(subject, kind="stable")
    present, starts = np.unique(subject[order], return_index=True)
    return zip(present.tolist(), np.split(order, starts[1:]))


@pytest.mark.parametrize("params", [{}, {"fallback": "subject"}, {"subject_routing": "knn"},
                                    {"n_nearest": 1, "distance_threshold": 0.0}])
def test_cascal_scores_one_question_as_the_general_path_does(asked, params, monkeypatch):
    bundle = fit_bundle("cascal", **params)
    router = bundle.router
    x = bundle.embedder.embed(asked)
    alone = [router.scores(x[i: i + 1]) for i in range(len(x))]
    assert list(cascal_module.subject_groups(np.array([2])))[0][0] == 2
    monkeypatch.setattr(cascal_module, "subject_groups", sorted_groups)
    for i, row in enumerate(alone):
        reference = router.scores(x[i: i + 1])
        assert row.dtype == reference.dtype == np.float64
        np.testing.assert_array_equal(row, reference)  # bit for bit
    batch = router.scores(x)  # both paths group a batch the same way
    monkeypatch.undo()
    np.testing.assert_array_equal(router.scores(x), batch)


def test_one_block_similarity_is_the_blocked_loops(monkeypatch):
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((120, 16)).astype(np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    x = np.vstack([rng.standard_normal((30, 16)), np.zeros((1, 16))]).astype(np.float32)
    shortcut = nearest_similarity(x, reference)
    looped = nearest_similarity(x, reference, exclude=np.full(len(x), -1))  # no row excluded: the loop itself
    assert shortcut.dtype == looped.dtype == np.float64
    np.testing.assert_array_equal(shortcut, looped)
    assert shortcut[-1] == 0.0
    monkeypatch.setattr(coverage_module, "_BLOCK", 7)  # more queries than a block: the loop, block by block
    np.testing.assert_allclose(nearest_similarity(x, reference), shortcut, rtol=0, atol=1e-6)
    assert nearest_similarity(np.zeros((0, 16), np.float32), reference).shape == (0,)


def test_the_blank_warning_is_for_rows_of_zeros_only():
    x = np.array([[0.0, 0.0], [0.0, 1e-30], [np.nan, 0.0], [-0.0, 0.0]], dtype=np.float32)
    assert query_warnings(x) == [BLANK_QUERY_WARNING, None, None, BLANK_QUERY_WARNING]
