"""CASCAL's clustering helpers: the fast paths compute what the plain numpy calls they replace compute."""

import numpy as np
import pytest

from rgd.embedding.vectors import normalize_rows
from rgd.routers.clustering import _unit_rows, spherical_kmeans, weighted_draw


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
    assert np.array_equal(_unit_rows(a), normalize_rows(a))


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
