"""Clustering on the unit sphere, vectorised: weighted spherical k-means and silhouette-based choice of k.

CASCAL runs one search per (subject, model), so these are written for many small problems: no per-point
Python loops, every k and restart of one search seeded and iterated together, a subsample for the
silhouette (computed from cluster sums, no distance matrix), and few k-means restarts.
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
    """Weighted spherical k-means on L2-normalised rows; returns (centroids (k, d), labels (n,)): the best of
    ``n_init`` restarts (k-means++ seeding, Lloyd iterations) by weighted similarity to the centres."""
    return spherical_kmeans_per_k(x, (k,), weights, n_iter=n_iter, n_init=n_init, rng=rng)[0]


def spherical_kmeans_per_k(
    x: np.ndarray,
    ks,
    weights: np.ndarray | None = None,
    *,
    n_iter: int = 25,
    n_init: int = 2,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`spherical_kmeans` for each k of ``ks`` (ascending) in turn, on the same points, computed
    together: the same draws and generator state afterwards, and the same centroids and labels.

    Written for CASCAL's thousands of small problems (a few hundred points, k <= 5), where numpy's per-call
    overhead, not arithmetic, is the cost: all restarts of all k are seeded together (one uniform draw for
    every seed, the k-means++ distances of all candidates updated in one call per step) and iterated
    together (one membership matrix and one product for every candidate's new centres, one normalisation,
    one transposed copy; a candidate that converges leaves the set). What is kept per candidate is what
    would change the bits: each similarity product (``x @ centres.T`` through OpenBLAS's small-matrix
    kernel; stacked centres would take its general path, which rounds differently) and each k-means++
    distance (a matrix-vector product, which a matrix product does not reproduce either). The centre sums'
    product is stacked by rows in the one-by-one layout, which gives each candidate's rows the same bits
    wherever OpenBLAS takes the same path for it (every MMLU-Pro search and the tests' shapes,
    tests/rgd/routers/test_clustering.py); for much larger n it may not (n = 1000, d = 384: a last bit in some
    centres, benchmarks/README.md), which can matter only for a point tied between two centres to 1e-7.
    """
    n = x.shape[0]
    w = np.ones(n, dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    kk = np.repeat(np.asarray(ks, dtype=np.intp), n_init)
    if not len(kk):
        return []
    inits = _kmeanspp_many(x, kk, w, rng)
    found = _lloyd_many(x, w, inits, n_iter)
    out = []
    for i in range(0, len(kk), n_init):  # per k, its restarts in order: a later one kept only if better
        best = found[i]
        for cand in found[i + 1: i + n_init]:
            if cand[0] > best[0]:
                best = cand
        out.append((np.ascontiguousarray(best[1].T), best[2]))
    return out


def _lloyd_many(x: np.ndarray, w: np.ndarray, inits: list[np.ndarray], n_iter: int) -> list[tuple]:
    """Lloyd iterations of every candidate from its initial centres: per candidate (objective, centres
    transposed (d, k), labels), as each alone would give."""
    n = x.shape[0]
    rows = np.arange(n)
    positive = w > 0
    some_zero = not positive.all()
    found: list = [None] * len(inits)
    ids = np.arange(len(inits))  # the candidates still iterating
    kk = np.array([len(c) for c in inits], dtype=np.intp)
    centers_t = [np.ascontiguousarray(c.T) for c in inits]
    labels = np.zeros((len(inits), n), dtype=np.intp)
    new = np.empty_like(labels)
    spans = None  # each candidate's rows in the stacked centres, set again when the candidates change
    for it in range(n_iter):
        sims = [x @ c for c in centers_t]  # one product each: the bits of the small-matrix kernel
        for i, sim in enumerate(sims):
            sim.argmax(axis=1, out=new[i])
        if it:
            done = (new == labels).all(axis=1)
            if done.any():  # converged: sim is that of the final centres, the objective reuses it
                for i in np.flatnonzero(done):
                    found[ids[i]] = (float((w * sims[i][rows, new[i]]).sum()), centers_t[i], new[i].copy())
                going = np.flatnonzero(~done)
                if not len(going):
                    return found
                ids, new, labels = ids[going], new[going], labels[going]
                sims = [sims[i] for i in going]
                spans = None
        labels, new = new, labels
        if spans is None:
            k_act = kk[ids]
            offset = np.cumsum(k_act) - k_act
            base, n_rows = offset[:, None], int(k_act.sum())
            spans = [(int(o), int(o + k)) for o, k in zip(offset, k_act)]
        member_row = labels + base
        member = np.zeros((n, n_rows), dtype=np.float32)
        member[rows, member_row] = w
        sums = member.T @ x  # the one-by-one version's layout (bits), its rows stacked
        square = squared_norms(sums)
        # an empty cluster (no point of positive weight) has a zero sum, so a count is needed only then
        if not square.all():
            count = np.bincount((member_row[:, positive] if some_zero else member_row).ravel(), minlength=n_rows)
            for i, (lo, hi) in enumerate(spans):  # re-seed empty clusters at the worst-fitting points
                empty = np.flatnonzero(count[lo:hi] == 0)
                if len(empty):
                    worst = np.argsort(sims[i][rows, labels[i]])[: len(empty)]
                    sums[lo + empty] = x[worst]
            square = squared_norms(sums)
        stacked_t = np.ascontiguousarray(unit_rows(sums, square).T)  # (d, all centres)
        centers_t = [stacked_t[:, lo:hi] for lo, hi in spans]
    for i, a in enumerate(ids):  # not converged in n_iter iterations
        found[a] = (float((w * (x @ centers_t[i])[rows, labels[i]]).sum()), centers_t[i], labels[i].copy())
    return found


def unit_rows(a: np.ndarray, square: np.ndarray | None = None) -> np.ndarray:
    """:func:`normalize_rows` of a float32 array without its checks (the same operations, so the same bits);
    ``square``: the rows' :func:`squared_norms` where already computed."""
    square = squared_norms(a) if square is None else square
    return a / np.maximum(np.sqrt(square), np.float32(1e-12))


def squared_norms(a: np.ndarray) -> np.ndarray:
    """(n, 1) squared L2 norms of the rows, as :func:`normalize_rows` computes them (a zero row: a zero)."""
    return np.add.reduce(a * a, axis=1, keepdims=True)


def _kmeanspp(x: np.ndarray, k: int, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding weighted by ``w``: each next centre drawn with probability proportional to its
    weighted cosine distance (``1 - cos``) to the nearest centre so far."""
    n = x.shape[0]
    idx = [weighted_draw(w / w.sum(), rng)]
    dist = 1.0 - x @ x[idx[0]]
    for j in range(1, k):
        d = np.maximum(dist, 0) * w
        total = d.sum()
        nxt = weighted_draw(d / total, rng) if total > 0 else int(rng.integers(n))
        idx.append(nxt)
        if j < k - 1:
            dist = np.minimum(dist, 1.0 - x @ x[nxt])
    return x[idx].copy()


def _kmeanspp_many(x: np.ndarray, kk: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """``[_kmeanspp(x, k, w, rng) for k in kk]`` (``kk`` ascending): the same seeds and generator state.

    Every k-means++ draw is ``weighted_draw``'s one uniform number, so all of them are drawn at once (the
    same numbers in the same order); step j's draws of all candidates are one cumulative sum and one count
    (``searchsorted(side="right")`` on a sorted array is the count of its entries <= the value). Where some
    candidate has no distance left to draw from, the one-by-one version runs from the same generator state
    (its uniform draw over the points takes another kind of number).
    """
    n = x.shape[0]
    state = rng.bit_generator.state
    start = np.cumsum(kk) - kk  # each candidate's first uniform
    u = rng.random(int(kk.sum()))
    cdf = np.cumsum(w / w.sum(), dtype=np.float64)
    cdf /= cdf[-1]
    chosen = np.zeros((len(kk), int(kk.max())), dtype=np.intp)
    chosen[:, 0] = cdf.searchsorted(u[start], side="right")
    dist = np.empty((len(kk), n), dtype=x.dtype)
    step = np.empty_like(dist)
    for j in range(1, int(kk.max())):
        lo = int(np.searchsorted(kk, j, side="right"))  # the candidates with more than j centres
        for a in range(lo, len(kk)):  # the matrix-vector products of the one-by-one version, bit for bit
            np.matmul(x, x[chosen[a, j - 1]], out=step[a])
        np.subtract(1.0, step[lo:], out=step[lo:])
        if j == 1:
            dist[lo:] = step[lo:]
        else:
            np.minimum(dist[lo:], step[lo:], out=dist[lo:])
        d = np.maximum(dist[lo:], 0) * w
        total = d.sum(axis=1)
        if not (total > 0).all():
            rng.bit_generator.state = state
            return [_kmeanspp(x, int(k), w, rng) for k in kk]
        d /= total[:, None]
        c = np.cumsum(d, axis=1, dtype=np.float64)
        c /= c[:, -1:]
        chosen[lo:, j] = (c <= u[start[lo:] + j][:, None]).sum(axis=1)
    return [x[chosen[a, :k]] for a, k in enumerate(kk)]


def weighted_draw(p: np.ndarray, rng: np.random.Generator) -> int:
    """``int(rng.choice(len(p), p=p))`` without its argument checks (a third of k-means++'s time): the same
    cumulative sum in float64, the same one uniform draw, the same search, so the same index and generator
    state (tests/rgd/routers/test_clustering.py holds it to ``Generator.choice``)."""
    cdf = np.cumsum(p, dtype=np.float64)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def silhouettes_cosine(x: np.ndarray, labelings: list[np.ndarray], ks) -> np.ndarray:
    """Mean silhouette (cosine distance) of each labelling of the unit rows ``x``, labelling i into ``ks[i]``
    clusters (a point alone in its cluster scores 0, an empty cluster is nobody's nearest): all of them
    together, from the clusters' vector sums, never the (n, n) distance matrix: a point's total distance to
    a cluster of c points is ``c - x . (their sum)``. Equal to scikit-learn's ``silhouette_score(x, labels,
    metric="cosine")`` up to float32 rounding (tests/rgd/routers/test_clustering.py)."""
    n = x.shape[0]
    ks = np.asarray(ks, dtype=np.intp)
    offset = np.cumsum(ks) - ks  # each labelling's columns among all clusters
    rows = np.arange(n)
    col = np.stack(labelings) + offset[:, None]  # (L, n): each point's own cluster, per labelling
    member = np.zeros((int(ks.sum()), n), dtype=np.float32)
    member[col, rows] = 1.0
    counts = np.bincount(col.ravel(), minlength=len(member)).astype(np.float32)
    sums = counts - x @ np.ascontiguousarray((member @ x).T)  # (n, clusters): total distance to each
    own = counts[col]
    a = sums[rows, col] / np.maximum(own - 1, 1)  # mean distance to the rest of its own cluster
    mean = sums / np.maximum(counts, 1)
    mean[rows, col] = np.inf  # b: the nearest other, non-empty cluster
    mean[:, counts == 0] = np.inf
    b = np.minimum.reduceat(mean, offset, axis=1).T
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    s = np.where(np.isfinite(s), s, 0.0)
    return s.mean(axis=1)


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
    ks = range(max(k_min, 2), min(k_max, n // 2) + 1)
    if not len(ks):
        return single()
    if method == "kmeans":  # every k's restarts computed together (the same results as one k at a time)
        fits = spherical_kmeans_per_k(x, ks, weights, rng=rng)
    elif method == "agglomerative":
        fits = [_agglomerative(x, k, weights) for k in ks]
    else:
        raise ParameterError(f"unknown clustering method {method!r}; use 'kmeans' or 'agglomerative'")
    in_sample = [labels[sample] for _, labels in fits]
    scores = silhouettes_cosine(x[sample], in_sample, ks)
    best_score, best_centers = -np.inf, None
    for k, (centers, labels), lab, score in zip(ks, fits, in_sample, scores):
        if lab.min() == lab.max():  # one cluster among the sampled points: no silhouette
            continue
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
