"""Query-independent baselines: the best single model and a random model."""

from __future__ import annotations

import numpy as np

from rgd.params import init_params
from rgd.routers.base import Router, TrainingSet


class BestSingleRouter(Router):
    """Always the model with the best training accuracy (by the answer keys)."""

    name = "best_single"
    uses_labels = True

    def _fit(self, train: TrainingSet) -> None:
        self.accuracy_ = train.table.accuracy().astype(np.float32)

    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.accuracy_, (len(embeddings), len(self.accuracy_))).copy()

    def _state(self):
        return {}, {"accuracy": self.accuracy_}

    def _load_state(self, meta, arrays) -> None:
        self.accuracy_ = arrays["accuracy"]


class RandomRouter(Router):
    """A random ordering of the pool per query (seeded, so evaluations repeat)."""

    name = "random"

    def __init__(self, *, seed: int = 0) -> None:
        init_params(self, locals())

    def _fit(self, train: TrainingSet) -> None:
        pass

    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return rng.random((len(embeddings), len(self.models_)))

    def _state(self):
        return {}, {}

    def _load_state(self, meta, arrays) -> None:
        pass
