"""Query-answer routers: predict each model's correctness on a query from labelled training questions.

They learn from the answer keys, so a generator's wrong keys become their wrong labels.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from rgd.errors import ParameterError
from rgd.params import Bounds, Count, init_params
from rgd.routers.base import Router, TrainingSet, normalize_rows


class KnnRouter(Router):
    """Mean correctness of each model over the query's k nearest training questions (cosine)."""

    name = "knn"
    uses_labels = True

    def __init__(self, *, k: Count = 40, batch_size: Count = 2048) -> None:
        init_params(self, locals())

    def _fit(self, train: TrainingSet) -> None:
        self.train_x_ = normalize_rows(train.embeddings)
        self.correct_ = self._targets(train).T.astype(np.float32)  # (Q, M)
        self.prior_ = self.correct_.mean(axis=0)

    def _targets(self, train: TrainingSet) -> np.ndarray:
        """(M, Q) what the neighbours' values are: correctness by the answer keys."""
        return train.table.correct()

    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        e = normalize_rows(embeddings)
        k = min(self.k, len(self.train_x_))
        out = np.empty((len(e), self.correct_.shape[1]), dtype=np.float32)
        for start in range(0, len(e), self.batch_size):  # bounded memory: n x Q similarities per batch
            sim = e[start : start + self.batch_size] @ self.train_x_.T
            nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            out[start : start + self.batch_size] = self.correct_[nn].mean(axis=1)
        return out + 1e-6 * self.prior_[None, :]  # ties go to the better model overall

    def _state(self):
        return {}, {"train_x": self.train_x_, "correct": self.correct_, "prior": self.prior_}

    def _load_state(self, meta, arrays) -> None:
        self.train_x_, self.correct_, self.prior_ = arrays["train_x"], arrays["correct"], arrays["prior"]
        if self.correct_.shape != (len(self.train_x_), len(self.models_)):
            raise ParameterError("kNN labels do not match the training embeddings and the pool")


class KnnConsensusRouter(KnnRouter):
    """Query-only variant without labels: mean consensus score of each model over the k nearest questions."""

    name = "knn_consensus"
    uses_labels = False

    def __init__(self, *, k: Count = 200, batch_size: Count = 2048) -> None:
        init_params(self, locals())

    def _targets(self, train: TrainingSet) -> np.ndarray:
        return train.consensus.scores


class MlpRouter(Router):
    """A multi-label MLP (scikit-learn) predicting every model's correctness from the query embedding."""

    name = "mlp"
    uses_labels = True

    def __init__(
        self, *, hidden: Count = 128, alpha: Annotated[float, Bounds(low=0)] = 1e-3, max_iter: Count = 60, seed: int = 0
    ) -> None:
        init_params(self, locals())

    def _fit(self, train: TrainingSet) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        y = train.table.correct().T.astype(np.int64)  # (Q, M) multi-label
        self.prior_ = y.mean(axis=0).astype(np.float32)
        constant = (y.min(axis=0) == y.max(axis=0))
        if constant.any():  # a model right (or wrong) everywhere: MLPClassifier needs both classes
            y = y.copy()
            y[0, constant] = 1 - y[0, constant]
        clf = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            alpha=self.alpha,
            max_iter=self.max_iter,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(normalize_rows(train.embeddings), y)
        self.weights_ = [w.astype(np.float32) for w in clf.coefs_]
        self.biases_ = [b.astype(np.float32) for b in clf.intercepts_]

    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        h = normalize_rows(embeddings)
        for i, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            h = h @ w + b
            if i < len(self.weights_) - 1:
                h = np.maximum(h, 0)  # relu, scikit-learn's default activation
        return 1.0 / (1.0 + np.exp(-h)) + 1e-6 * self.prior_[None, :]

    def _state(self):
        arrays = {"prior": self.prior_}
        for i, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            arrays[f"w{i}"], arrays[f"b{i}"] = w, b
        return {"layers": len(self.weights_)}, arrays

    def _load_state(self, meta, arrays) -> None:
        n = int(meta["layers"])
        self.prior_ = arrays["prior"]
        self.weights_ = [arrays[f"w{i}"] for i in range(n)]
        self.biases_ = [arrays[f"b{i}"] for i in range(n)]
        if self.weights_[-1].shape[1] != len(self.models_):
            raise ParameterError("MLP output size does not match the pool")
