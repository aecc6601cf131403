"""Clustering on the unit sphere, vectorised: weighted spherical k-means and silhouette-based choice of k.

CASCAL runs one search per (subject, model), so these are written for many small problems: no per-point
Python loops, a subsample for the silhouette, and few k-means restarts.
"""

from __future__ import annotations

import numpy as np

from rgd.errors import ParameterError
from rgd.routers.base import normalize_rows


def spherical_kmeans(
    x: np.ndarray,
    k: int,
    weights: np.ndarray | None = None,
    *,
    n_iter: int = 25,
    n_init: int = 2,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted spherical k-means on L2-normalised rows; returns (centroids (k, d), labels (n,)).

    Written for CASCAL's thousands of small problems (a few hundred points, k <= 5), where numpy's per-call
    overhead, not arithmetic, is the cost: the centres are kept transposed and contiguous (``x @ c.T`` on a
    transposed view of a few rows is up to several times slower in OpenBLAS), one one-hot buffer is reused,
    the rows are normalised inline (:func:`normalize_rows`'s operations, bit for bit). The one difference:
    OpenBLAS may round a similarity's last bit differently for the contiguous layout (1e-7, some shapes only),
    which can matter only for a point tied between two centres to 1e-7; on MMLU-Pro the fitted CASCAL is
    identical to the one of the transposed-view code, array for array (benchmarks/README.md, "CASCAL speed").
    """
    n = x.shape[0]
    w = np.ones(n, dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    rows = np.arange(n)
    positive = w > 0
    some_zero = not positive.all()
    onehot = np.zeros((n, k), dtype=np.float32)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centers_t = np.ascontiguousarray(_kmeanspp(x, k, w, rng).T)  # (d, k)
        labels = np.zeros(n, dtype=np.intp)
        converged = False
        for it in range(n_iter):
            sim = x @ centers_t
            new = sim.argmax(axis=1)
            if it and (new == labels).all():
                converged = True  # sim is then that of the final centres: the objective reuses it
                break
            labels = new
            onehot.fill(0.0)
            onehot[rows, labels] = w
            sums = onehot.T @ x
            # a cluster's weight is 0 iff it holds no point of positive weight (a column sum of the one-hot is
            # a slow strided reduction; a count is not)
            empty = np.bincount(labels[positive] if some_zero else labels, minlength=k) == 0
            if empty.any():  # re-seed empty clusters at the worst-fitting points
                worst = np.argsort(sim[rows, labels])[: int(empty.sum())]
                sums[empty] = x[worst]
            centers_t = np.ascontiguousarray(_unit_rows(sums).T)
        objective = float((w * (sim if converged else x @ centers_t)[rows, labels]).sum())
        if best is None or objective > best[0]:
            best = (objective, np.ascontiguousarray(centers_t.T), labels)
    return best[1], best[2]


def _unit_rows(a: np.ndarray) -> np.ndarray:
    """:func:`normalize_rows` of a float32 array without its checks (the same operations, so the same bits)."""
    return a / np.maximum(np.sqrt(np.add.reduce(a * a, axis=1, keepdims=True)), np.float32(1e-12))


def _kmeanspp(x: np.ndarray, k: int, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    idx = [weighted_draw(w / w.sum(), rng)]
    dist = 1.0 - x @ x[idx[0]]
    for _ in range(1, k):
        d = np.maximum(dist, 0) * w
        total = d.sum()
        nxt = weighted_draw(d / total, rng) if total > 0 else int(rng.integers(n))
        idx.append(nxt)
        dist = np.minimum(dist, 1.0 - x @ x[nxt])
    return x[idx].copy()


def weighted_draw(p: np.ndarray, rng: np.random.Generator) -> int:
    """``int(rng.choice(len(p), p=p))`` without its argument checks (a third of k-means++'s time): the same
    cumulative sum in float64, the same one uniform draw, the same search, so the same index and generator
    state (tests/rgd/routers/test_clustering.py holds it to ``Generator.choice``)."""
    cdf = np.cumsum(p, dtype=np.float64)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def cosine_distances(x: np.ndarray) -> np.ndarray:
    d = x @ x.T
    np.subtract(1.0, d, out=d)
    return np.maximum(d, 0.0, out=d)


def silhouette_cosine(dist: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean silhouette from a precomputed distance matrix (points in singleton clusters score 0)."""
    n = dist.shape[0]
    onehot = np.zeros((n, k), dtype=np.float32)
    onehot[np.arange(n), labels] = 1.0
    counts = np.bincount(labels, minlength=k).astype(onehot.dtype)  # (a column sum of the one-hot is strided)
    sums = dist @ onehot  # (n, k): total distance to each cluster
    own = counts[labels]
    a = sums[np.arange(n), labels] / np.maximum(own - 1, 1)
    other = np.where(onehot > 0, np.inf, sums / np.maximum(counts, 1)[None, :])
    other[:, counts == 0] = np.inf
    b = other.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    s = np.where(np.isfinite(s), s, 0.0)
    return float(s.mean())


def choose_clusters(
    x: np.ndarray,
    weights: np.ndarray,
    *,
    k_min: int,
    k_max: int,
    silhouette_floor: float,
    method: str,
    max_silhouette_points: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Centroids (k, d) for points ``x``: k in [k_min, k_max] by silhouette, one centroid below the floor.
    The silhouette is computed on at most ``max_silhouette_points`` points, so its cost does not grow with n.
    """
    n = x.shape[0]

    def single() -> np.ndarray:  # the one weighted centroid, computed only where it is the answer
        return normalize_rows((weights[:, None] * x).sum(axis=0, keepdims=True))

    if n < 2 * k_min or k_max < 2:
        return single()
    if n > max_silhouette_points:
        sample = rng.choice(n, size=max_silhouette_points, replace=False)
    else:
        sample = np.arange(n)
    dist = cosine_distances(x[sample])
    best_score, best_centers = -np.inf, None
    for k in range(max(k_min, 2), min(k_max, n // 2) + 1):
        if method == "kmeans":
            centers, labels = spherical_kmeans(x, k, weights, rng=rng)
        elif method == "agglomerative":
            centers, labels = _agglomerative(x, k, weights)
        else:
            raise ParameterError(f"unknown clustering method {method!r}; use 'kmeans' or 'agglomerative'")
        in_sample = labels[sample]
        if in_sample.min() == in_sample.max():  # one cluster among the sampled points: no silhouette
            continue
        score = silhouette_cosine(dist, in_sample, k)
        if score > best_score:
            best_score, best_centers = score, centers[np.bincount(labels, minlength=k) > 0]
    return best_centers if best_centers is not None and best_score >= silhouette_floor else single()


def _agglomerative(x: np.ndarray, k: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(x)
    onehot = np.zeros((x.shape[0], k), dtype=np.float32)
    onehot[np.arange(x.shape[0]), labels] = weights
    return normalize_rows(onehot.T @ x), labels


def merge_close(centers: np.ndarray, mass: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge centroids closer than ``max_distance`` (cosine), closest pair first, mass-weighted.

    Returns the merged centroids and their masses.
    """
    centers = centers.copy()
    mass = mass.astype(np.float64).copy()
    alive = np.ones(len(centers), dtype=bool)
    if len(centers) < 2:
        return centers, mass
    dist = 1.0 - centers @ centers.T
    np.fill_diagonal(dist, np.inf)
    while True:
        flat = int(np.argmin(dist))
        i, j = divmod(flat, dist.shape[1])
        if not np.isfinite(dist[i, j]) or dist[i, j] >= max_distance:
            break
        merged = mass[i] * centers[i] + mass[j] * centers[j]
        centers[i] = merged / max(np.linalg.norm(merged), 1e-12)
        mass[i] += mass[j]
        alive[j] = False
        dist[j, :] = dist[:, j] = np.inf
        row = 1.0 - centers @ centers[i]
        row[~alive] = np.inf
        row[i] = np.inf
        dist[i, :] = dist[:, i] = row
    return centers[alive], mass[alive]
