"""A query's skill cluster: the router's own grouping of questions, for what is reported per cluster (the gateway's
live monitoring, :mod:`rgd.serving.monitor`).

A router that routes by nearest centroid (``truth_cluster``, ``cascal``: its fitted ``centroids_``) puts a query in
the cluster of its nearest centroid, as its ranking does; every other router has one cluster (index 0). One
(n, K) similarity product a batch: the same product the routers themselves compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rgd.embedding.vectors import normalize_rows


def skill_clusters(router: Any, x: np.ndarray) -> np.ndarray:
    """(n,) int: each embedded query's skill cluster (its nearest centroid's index; 0 without centroids)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    centroids = getattr(router, "centroids_", None)
    if centroids is None or len(centroids) < 2:
        return np.zeros(len(x), dtype=np.int64)
    return (normalize_rows(x) @ np.asarray(centroids, dtype=np.float32).T).argmax(axis=1)


def n_skill_clusters(router: Any) -> int:
    """How many skill clusters :func:`skill_clusters` can name for this router (1 without centroids)."""
    centroids = getattr(router, "centroids_", None)
    return 1 if centroids is None else max(1, len(centroids))
