"""CASCAL: consensus-aware skill clustering, a query-only router trained without labels.

Training, per subject: for each model, the questions where it agrees with the pool's majority (weighted by
the agreement ratio, skipping questions below ``min_agreement``) are clustered into skill centroids; the
centroids of all models are merged when closer than ``merge_distance``; every training question of the
subject is assigned to its nearest centroid, and each cluster ranks the models by their mean consensus score
over its questions. Clusters whose top-3 repeats another's are folded into it. Subject representatives and
a global ranking are the fallback.

Routing: a query goes to a subject, then to its nearest centroids there (distance-weighted, sharpened
scores), blended with the fallback ranking when it is far from every centroid. All of it is vectorised
over queries and centroids.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterable, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from rgd.errors import ParameterError
from rgd.params import Bounds, Count, Fraction, Positive, init_params
from rgd.routers.base import Router, TrainingSet, normalize_rows
from rgd.routers.clustering import choose_clusters, merge_close


class CascalRouter(Router):
    name = "cascal"

    def __init__(
        self,
        *,
        min_agreement: Fraction = 0.5,
        clustering: Literal["kmeans", "agglomerative"] = "kmeans",
        k_min: Count = 2,
        k_max: Annotated[int, Bounds(low="k_min")] = 5,
        silhouette_floor: float = 0.05,
        max_silhouette_points: Count = 300,
        min_points: Count = 10,
        merge_distance: Annotated[float, Bounds(low=0)] = 0.15,
        prune_top: Count = 3,
        rank_min_agreement: Fraction = 0.0,
        subject_routing: Literal["centroid", "knn"] = "centroid",
        subject_neighbors: Count = 10,
        n_nearest: Count = 3,
        distance_temperature: Positive = 0.05,
        score_temperature: Positive = 0.05,
        distance_threshold: Annotated[float, Bounds(low=0)] = 0.6,
        fallback: Literal["global", "subject"] = "global",
        fallback_weight: Fraction = 0.5,
        seed: int = 0,
    ) -> None:
        init_params(self, locals())

    # ------------------------------------------------------------------ what the router is scored on
    def _model_scores(self, train: TrainingSet) -> np.ndarray:
        """(M, Q) per-question scores the cluster rankings average: the consensus scores (no labels)."""
        return train.consensus.scores

    def _skill_mask(self, train: TrainingSet) -> np.ndarray:
        """(M, Q) bool: the questions whose embeddings form a model's skill centroids."""
        cons = train.consensus
        return cons.agrees(train.table.choices) & (cons.agreement >= self.min_agreement)[None, :]

    # ------------------------------------------------------------------ training
    def _fit(self, train: TrainingSet) -> None:
        # hundreds of small matrix products: one BLAS thread is several times faster than a contended pool
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_clusters(train)

    def _fit_clusters(self, train: TrainingSet) -> None:
        rng = np.random.default_rng(self.seed)
        x = normalize_rows(train.embeddings)
        table, cons = train.table, train.consensus
        scores = self._model_scores(train).astype(np.float32)
        agrees = self._skill_mask(train)
        # which questions the rankings average over: those whose consensus is clear enough to trust
        rank_w = (cons.agreement >= self.rank_min_agreement).astype(np.float32)
        if rank_w.sum() == 0:
            rank_w[:] = 1.0

        subjects = sorted(set(table.subjects.tolist()))
        centroids, cluster_scores, cluster_subject, cluster_size = [], [], [], []
        reps, subject_scores = [], []
        for si, subject in enumerate(subjects):
            cols = np.flatnonzero(table.subjects == subject)
            xs = x[cols]
            reps.append(xs.mean(axis=0))
            subject_scores.append(_weighted_mean(scores[:, cols], rank_w[cols]))

            found, mass = [], []
            for m in range(table.n_models):
                sel = np.flatnonzero(agrees[m, cols])
                if sel.size < self.min_points:
                    continue
                w = cons.agreement[cols[sel]]
                c = choose_clusters(
                    xs[sel],
                    w,
                    k_min=self.k_min,
                    k_max=self.k_max,
                    silhouette_floor=self.silhouette_floor,
                    method=self.clustering,
                    max_silhouette_points=self.max_silhouette_points,
                    rng=rng,
                )
                found.append(c)
                mass.append(np.full(len(c), w.sum() / len(c)))
            if not found:  # nobody agrees enough: one cluster, the subject itself
                found, mass = [normalize_rows(xs.mean(axis=0, keepdims=True))], [np.ones(1)]
            cents, _ = merge_close(np.vstack(found), np.concatenate(mass), self.merge_distance)
            cents, ranks, sizes = self._rank_clusters(xs, scores[:, cols], rank_w[cols], cents)
            centroids.append(cents)
            cluster_scores.append(ranks)
            cluster_subject.append(np.full(len(cents), si))
            cluster_size.append(sizes)

        self.subjects_ = subjects
        self.subject_reps_ = normalize_rows(np.vstack(reps))
        self.subject_scores_ = np.vstack(subject_scores).astype(np.float32)
        self.centroids_ = np.vstack(centroids).astype(np.float32)
        self.cluster_scores_ = np.vstack(cluster_scores).astype(np.float32)
        self.cluster_subject_ = np.concatenate(cluster_subject).astype(np.int32)
        self.cluster_size_ = np.concatenate(cluster_size).astype(np.int32)
        self.global_scores_ = _weighted_mean(scores, rank_w).astype(np.float32)
        if self.subject_routing == "knn":
            self.train_x_ = x.astype(np.float32)
            lookup = {s: i for i, s in enumerate(subjects)}
            self.train_subject_ = np.array([lookup[s] for s in table.subjects], dtype=np.int32)
        else:
            self.train_x_ = np.zeros((0, x.shape[1]), np.float32)
            self.train_subject_ = np.zeros(0, np.int32)

    def _rank_clusters(
        self, xs: np.ndarray, scores: np.ndarray, rank_w: np.ndarray, cents: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign questions to centroids, rank models per cluster, fold clusters whose top-k repeats."""
        assign = (xs @ cents.T).argmax(axis=1)
        while True:
            k = len(cents)
            onehot = np.zeros((xs.shape[0], k), dtype=np.float32)
            onehot[np.arange(xs.shape[0]), assign] = 1.0
            sizes = onehot.sum(axis=0)
            keep = sizes > 0
            if not keep.all():  # drop centroids that won no question and reassign
                cents = cents[keep]
                assign = (xs @ cents.T).argmax(axis=1)
                continue
            wsum = rank_w @ onehot
            means = ((scores * rank_w) @ onehot) / np.maximum(wsum, 1e-9)[None, :]  # (M, k)
            means[:, wsum == 0] = _weighted_mean(scores, rank_w)[:, None]
            top = np.sort(np.argsort(-means, axis=0, kind="stable")[: self.prune_top], axis=0).T  # (k, top)
            _, first, inverse = np.unique(top, axis=0, return_index=True, return_inverse=True)
            if len(first) == k:
                return cents, means.T, sizes.astype(np.int32)
            # clusters sharing a top set become one; its centroid is their size-weighted mean
            inverse = inverse.reshape(-1)
            groups = np.zeros((k, len(first)), dtype=np.float32)
            groups[np.arange(k), inverse] = sizes
            cents = normalize_rows(groups.T @ cents)
            assign = inverse[assign]

    # ------------------------------------------------------------------ routing
    def subject_of(self, embeddings: np.ndarray) -> np.ndarray:
        """(n,) index into ``subjects_`` of each query's inferred subject."""
        self.check_is_fitted()
        return self._subject_of_unit(normalize_rows(np.atleast_2d(np.asarray(embeddings, dtype=np.float32))))

    def _subject_of_unit(self, e: np.ndarray) -> np.ndarray:
        if self.subject_routing == "knn" and len(self.train_x_):
            sim = e @ self.train_x_.T
            k = min(self.subject_neighbors, sim.shape[1])
            nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            votes = np.zeros((e.shape[0], len(self.subjects_)), dtype=np.float32)
            rows = np.repeat(np.arange(e.shape[0]), k)
            np.add.at(votes, (rows, self.train_subject_[nn].ravel()), np.take_along_axis(sim, nn, 1).ravel())
            return votes.argmax(axis=1)
        return (e @ self.subject_reps_.T).argmax(axis=1)

    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Per subject, its queries against its own centroids only (a few per subject): the distances, the
        nearest ``n_nearest`` and their weights never touch the other subjects' centroids."""
        e = normalize_rows(embeddings)
        subject = self._subject_of_unit(e)
        sharp_clusters, sharp_global, sharp_subjects = self._sharp_scores()
        local = np.empty((e.shape[0], sharp_clusters.shape[1]), dtype=np.float32)
        nearest = np.empty(e.shape[0], dtype=np.float32)
        subject_clusters = self._subject_clusters()
        for s, queries in subject_groups(subject):
            clusters = subject_clusters[s]
            dist = 1.0 - e[queries] @ self.centroids_[clusters].T  # (n_s, K_s)
            k = min(self.n_nearest, dist.shape[1])
            near = np.argsort(dist, axis=1, kind="stable")[:, :k]
            nd = dist[np.arange(len(dist))[:, None], near]  # take_along_axis's gather, without its checks
            w = np.exp(-(nd - nd[:, :1]) / self.distance_temperature)
            w /= w.sum(axis=1, keepdims=True)
            local[queries] = np.einsum("nk,nkm->nm", w, sharp_clusters[clusters[near]])
            nearest[queries] = nd[:, 0]
        fallback = sharp_global[None, :] if self.fallback == "global" else sharp_subjects[subject]
        alpha = np.where(nearest > self.distance_threshold, self.fallback_weight, 0.0)[:, None]
        return (1 - alpha) * local + alpha * fallback

    def _subject_clusters(self) -> list[np.ndarray]:
        """The cluster indices of each subject (cached like the sharpened scores, keyed on the array)."""
        cached = getattr(self, "_clusters_cache", None)
        if cached is None or cached[0] is not self.cluster_subject_:
            cached = (self.cluster_subject_, [np.flatnonzero(self.cluster_subject_ == s)
                                              for s in range(len(self.subjects_))])
            self._clusters_cache = cached
        return cached[1]

    def _sharp_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cluster, global and subject scores, sharpened (row-wise, so sharpening a row and picking it
        commute): the same for every query, so computed once per fitted state and temperature. The cache (not
        fitted state: no trailing underscore) is keyed on the very arrays it was computed from, so a refit or a
        load recomputes it."""
        arrays = (self.cluster_scores_, self.global_scores_, self.subject_scores_)
        cached = getattr(self, "_sharp_cache", None)
        if (cached is None or cached[0] != self.score_temperature
                or any(was is not now for was, now in zip(cached[1], arrays))):
            cached = (self.score_temperature, arrays, tuple(self._sharpen(a) for a in arrays))
            self._sharp_cache = cached
        return cached[2]

    def _sharpen(self, s: np.ndarray) -> np.ndarray:
        z = (s - s.max(axis=-1, keepdims=True)) / self.score_temperature
        p = np.exp(z)
        return p / p.sum(axis=-1, keepdims=True)

    # ------------------------------------------------------------------ persistence
    _ARRAYS = (
        "subject_reps_",
        "subject_scores_",
        "centroids_",
        "cluster_scores_",
        "cluster_subject_",
        "cluster_size_",
        "global_scores_",
        "train_x_",
        "train_subject_",
    )

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"subjects": list(self.subjects_)}, {a.rstrip("_"): getattr(self, a) for a in self._ARRAYS}

    def _load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.subjects_ = list(meta["subjects"])
        for a in self._ARRAYS:
            setattr(self, a, arrays[a.rstrip("_")])
        m, k = len(self.models_), len(self.centroids_)
        if self.cluster_scores_.shape != (k, m) or self.cluster_subject_.shape != (k,):
            raise ParameterError("cluster arrays do not match the centroids and the pool")
        if self.subject_reps_.shape[0] != len(self.subjects_) or self.centroids_.shape[1] != self.subject_reps_.shape[1]:
            raise ParameterError("subject representatives do not match the subjects or the embedding size")
        if (self.cluster_subject_ < 0).any() or (self.cluster_subject_ >= len(self.subjects_)).any():
            raise ParameterError("a cluster names a subject that does not exist")


def subject_groups(subject: np.ndarray) -> Iterable[tuple[int, np.ndarray | slice]]:
    """(subject, its queries' rows) per subject present in ``subject`` (n,), ascending. One question (the
    gateway's usual batch) is its subject and every row, a slice: no sort, no split, the same rows."""
    if len(subject) == 1:
        return ((int(subject[0]), slice(None)),)
    order = np.argsort(subject, kind="stable")
    present, starts = np.unique(subject[order], return_index=True)
    return zip(present.tolist(), np.split(order, starts[1:]))


def _weighted_mean(scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(M,) mean of (M, Q) scores over questions weighted by (Q,) ``w`` (plain mean when all weights are 0)."""
    total = w.sum()
    return scores.mean(axis=1) if total == 0 else (scores @ w) / total


class CascalGTRouter(CascalRouter):
    """CASCAL scored with answer-key correctness instead of consensus (a baseline that needs labels)."""

    name = "cascal_gt"
    uses_labels = True

    def _model_scores(self, train: TrainingSet) -> np.ndarray:
        return train.table.correct().astype(np.float32)

    def _skill_mask(self, train: TrainingSet) -> np.ndarray:
        return train.table.correct()
