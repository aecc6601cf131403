"""CASCAL's clustering helpers: the fast paths compute what the plain numpy calls they replace compute."""

import numpy as np
import pytest

from rgd.embedding.vectors import normalize_rows
from rgd.routers.clustering import (
    _kmeanspp,
    _kmeanspp_many,
    silhouettes_cosine,
    spherical_kmeans,
    spherical_kmeans_per_k,
    unit_rows,
    weighted_draw,
)


@pytest.mark.parametrize("seed", range(40))
def test_weighted_draw_is_generator_choice(seed):
    """Same index and same generator state afterwards as ``Generator.choice(n, p=p)``, so k-means++ seeds
    (and everything drawn after them) are unchanged."""
    g = np.random.default_rng(seed)
    n = int(g.integers(1, 400))
    p = (g.random(n) ** 3).astype(np.float32)
    p[g.random(n) < 0.2] = 0.0
    if p.sum() == 0:
        p[0] = 1.0
    p /= p.sum()
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    assert [int(a.choice(n, p=p)) for _ in range(6)] == [weighted_draw(p, b) for _ in range(6)]
    assert a.random() == b.random()


def test_unit_rows_is_normalize_rows_bit_for_bit():
    a = np.random.default_rng(3).normal(size=(40, 384)).astype(np.float32)
    a[5] = 0.0
    assert np.array_equal(unit_rows(a), normalize_rows(a))


def _plain_kmeans(x, k, w, rng, n_iter=25, n_init=2):
    """The textbook version (rng.choice, normalize_rows, column sums) the fast one must equal."""
    n = len(x)
    best = None
    for _ in range(n_init):
        idx = [int(rng.choice(n, p=w / w.sum()))]
        dist = 1.0 - x @ x[idx[0]]
        for _ in range(1, k):
            d = np.maximum(dist, 0) * w
            idx.append(int(rng.choice(n, p=d / d.sum())) if d.sum() > 0 else int(rng.integers(n)))
            dist = np.minimum(dist, 1.0 - x @ x[idx[-1]])
        centers = x[idx].copy()
        labels = np.zeros(n, dtype=np.int64)
        for it in range(n_iter):
            sim = x @ centers.T
            new = sim.argmax(axis=1)
            if it and np.array_equal(new, labels):
                break
            labels = new
            onehot = np.zeros((n, k), dtype=np.float32)
            onehot[np.arange(n), labels] = w
            sums = onehot.T @ x
            empty = onehot.sum(axis=0) == 0
            if empty.any():
                sums[empty] = x[np.argsort(sim[np.arange(n), labels])[: int(empty.sum())]]
            centers = normalize_rows(sums)
        objective = float((w * (x @ centers.T)[np.arange(n), labels]).sum())
        if best is None or objective > best[0]:
            best = (objective, centers, labels)
    return best[1], best[2]


@pytest.mark.parametrize("seed", range(6))
def test_spherical_kmeans_equals_the_plain_version(seed):
    g = np.random.default_rng(seed)
    n, k = int(g.integers(30, 300)), int(g.integers(2, 6))
    x = normalize_rows(g.normal(size=(n, 24)) + 3 * g.normal(size=(k, 24))[g.integers(0, k, n)])
    w = g.uniform(0.5, 1.0, n).astype(np.float32)
    fast = spherical_kmeans(x, k, w, rng=np.random.default_rng(seed))
    plain = _plain_kmeans(x, k, w, np.random.default_rng(seed))
    assert np.array_equal(fast[1], plain[1])
    assert np.array_equal(fast[0], plain[0])


def _points(g, n, d, k):
    return normalize_rows(g.normal(size=(n, d)) + 3 * g.normal(size=(k, d))[g.integers(0, k, n)])


@pytest.mark.parametrize("seed", range(8))
def test_all_k_together_equal_one_k_at_a_time(seed):
    """``spherical_kmeans_per_k`` (every k and restart seeded and iterated together) gives each k what the
    plain version gives it, one k after the other on one generator, and leaves the generator where the plain
    loop leaves it; some weights are 0 (points that count for nothing)."""
    g = np.random.default_rng(seed)
    n, d = int(g.integers(30, 300)), (24, 384)[seed % 2]
    x = _points(g, n, d, int(g.integers(2, 6)))
    w = g.uniform(0.5, 1.0, n).astype(np.float32)
    w[g.random(n) < 0.1 * (seed % 3)] = 0.0
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    together = spherical_kmeans_per_k(x, range(2, 6), w, rng=a)
    for k, (centers, labels) in zip(range(2, 6), together):
        plain = _plain_kmeans(x, k, w, b)
        assert np.array_equal(labels, plain[1]) and np.array_equal(centers, plain[0])
    assert a.random() == b.random()


def test_all_k_together_with_too_few_distinct_points():
    """Three distinct points and k up to 5: k-means++ runs out of distance (the plain version then draws a
    point uniformly, another kind of draw, so the one-by-one seeding takes over from the same generator
    state) and Lloyd's iterations re-seed empty clusters; still the plain version's results, k by k."""
    g = np.random.default_rng(7)
    x = normalize_rows(g.normal(size=(3, 16)))[g.integers(0, 3, 40)]
    w = np.ones(40, dtype=np.float32)
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    together = spherical_kmeans_per_k(x, range(2, 6), w, rng=a)
    for k, (centers, labels) in zip(range(2, 6), together):
        plain = _plain_kmeans(x, k, w, b)
        assert np.array_equal(labels, plain[1]) and np.array_equal(centers, plain[0])
    assert a.random() == b.random()


@pytest.mark.parametrize("seed", range(4))
def test_kmeanspp_many_is_kmeanspp_in_turn(seed):
    g = np.random.default_rng(seed)
    n = int(g.integers(20, 200))
    x, w = _points(g, n, 32, 4), g.uniform(0.1, 1.0, n).astype(np.float32)
    kk = np.repeat(np.arange(1, 6), 2)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    many = _kmeanspp_many(x, kk, w, a)
    assert all(np.array_equal(m, _kmeanspp(x, int(k), w, b)) for m, k in zip(many, kk))
    assert a.random() == b.random()


def test_silhouettes_are_scikit_learns():
    """Each labelling's mean silhouette equals ``silhouette_score(metric="cosine")`` (to float32 rounding),
    with a point alone in its cluster (it scores 0) and a labelling that leaves a cluster empty."""
    from sklearn.metrics import silhouette_score

    g = np.random.default_rng(0)
    x = _points(g, 120, 48, 4)
    labelings = [g.integers(0, k, 120) for k in (2, 3, 5)]
    labelings[1][:] = np.where(labelings[1] == 2, 1, labelings[1])  # cluster 2 of 3 empty
    labelings[2][7] = 4
    labelings[2][labelings[2] == 4] = 3
    labelings[2][7] = 4  # cluster 4 of 5: one point
    ours = silhouettes_cosine(x, labelings, (2, 3, 5))
    theirs = [silhouette_score(x, lab, metric="cosine") for lab in labelings]
    assert np.allclose(ours, theirs, atol=2e-6, rtol=0)
