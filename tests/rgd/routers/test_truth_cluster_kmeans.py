"""truth_cluster's skill-cluster k-means and level fits: the fast paths compute what the plain version does."""

import numpy as np
import pytest

from rgd.embedding.vectors import normalize_rows
from rgd.routers.truth_cluster import _fit_level, _LevelBasis, spherical_kmeans


def _plain_kmeans(x, k, rng, n_iter=20):
    """The textbook version (rng.choice, normalize_rows, a count for empty clusters) the fast one must equal;
    the similarities in the fast one's layout (centres transposed and contiguous: OpenBLAS may round the last
    bit differently for a transposed view, which decides the exact ties between duplicated centres)."""
    n = len(x)
    chosen = [int(rng.integers(n))]
    dist = np.maximum(1.0 - x @ x[chosen[0]], 0.0)
    for _ in range(1, k):
        total = float(dist.sum())
        chosen.append(int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n)))
        dist = np.minimum(dist, np.maximum(1.0 - x @ x[chosen[-1]], 0.0))
    centers = x[chosen].copy()
    labels = np.zeros(n, dtype=np.int64)
    for it in range(n_iter):
        new = (x @ np.ascontiguousarray(centers.T)).argmax(axis=1)  # the layout's bits break exact ties
        if it and np.array_equal(new, labels):
            break
        labels = new
        onehot = np.zeros((k, n), dtype=x.dtype)
        onehot[labels, np.arange(n)] = 1.0
        sums = onehot @ x
        empty = np.bincount(labels, minlength=k) == 0
        if empty.any():
            sums[empty] = x[rng.choice(n, size=int(empty.sum()), replace=False)]
        centers = normalize_rows(sums)
    return centers, labels


@pytest.mark.parametrize("seed", range(6))
def test_spherical_kmeans_equals_the_plain_version(seed):
    """Same centroids, labels and generator state afterwards; seed 5 has 4 distinct points for k = 6, so
    k-means++ runs out of distance and Lloyd's iterations re-seed empty clusters (the generator's draws)."""
    g = np.random.default_rng(seed)
    n, k = int(g.integers(40, 300)), int(g.integers(2, 30))
    x = normalize_rows(g.normal(size=(n, 32)) + 3 * g.normal(size=(5, 32))[g.integers(0, 5, n)])
    if seed == 5:
        x, k = x[g.integers(0, 4, n)], 6
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    fast, plain = spherical_kmeans(x, k, a), _plain_kmeans(x, k, b)
    assert np.array_equal(fast[0], plain[0]) and np.array_equal(fast[1], plain[1])
    assert a.random() == b.random()


@pytest.mark.parametrize("level,size", [("global", 0), ("subject", 0), ("clusters", 25)])
def test_fit_level_with_a_shared_basis_is_the_same_fit(level, size):
    """The criterion computes the questions' :class:`_LevelBasis` once for its candidates: the same fit."""
    g = np.random.default_rng(0)
    x = normalize_rows(g.normal(size=(300, 16)))
    subjects = np.array(["a", "b", "c"])[g.integers(0, 3, 300)]
    scores = g.random((4, 300))
    alone = _fit_level(x, subjects, scores, level, size, np.random.default_rng(1))
    shared = _fit_level(x, subjects, scores, level, size, np.random.default_rng(1), _LevelBasis.of(subjects, scores))
    assert all(np.array_equal(p, q) for p, q in zip(alone, shared))
