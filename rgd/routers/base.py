"""The interface every router shares, so CASCAL and the baselines are interchangeable.

``fit(TrainingSet)`` learns from a pool's answers to training questions (and their embeddings);
``rank(embeddings)`` returns, per query, the pool's model indices from best to worst. Routers persist as
a JSON document plus a NumPy ``.npz`` of arrays (never pickle), and refuse artifacts they did not write.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rgd.consensus import ConsensusResult
from rgd.errors import ArtifactError
from rgd.data.response_table import ResponseTable
from rgd.embedding.vectors import normalize_rows  # noqa: F401  (re-exported)
from rgd.data.versioned_json import read_versioned_json

ROUTER_FORMAT = "rgd.router"
ROUTER_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingSet:
    """What a router may learn from: the pool's answers, the question embeddings and the consensus."""

    table: ResponseTable
    embeddings: np.ndarray  # (Q, d) float32, rows L2-normalised
    consensus: ConsensusResult

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2 or self.embeddings.shape[0] != self.table.n_questions:
            raise ValueError(
                f"embeddings must be (n_questions={self.table.n_questions}, d), got {self.embeddings.shape}"
            )
        if not np.isfinite(self.embeddings).all():
            bad = np.flatnonzero(~np.isfinite(self.embeddings).all(axis=1))
            raise ValueError(
                f"embeddings of {bad.size} questions contain NaN or inf "
                f"(first: {[self.table.question_ids[i] for i in bad[:5]]})"
            )


class Router(ABC):
    """Base class: subclasses set ``name`` and implement ``_fit``, ``scores`` and the state hooks."""

    name: ClassVar[str]
    #: True when the router learns from answer keys (query-answer routers, CASCAL-GT, best single)
    uses_labels: ClassVar[bool] = False
    _registry: ClassVar[dict[str, type["Router"]]] = {}

    models_: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            Router._registry[cls.name] = cls

    # ------------------------------------------------------------------ learning and routing
    def fit(self, train: TrainingSet) -> "Router":
        if train.table.n_questions == 0:
            raise ValueError(f"{self.name}: cannot fit on zero training questions")
        self.models_ = tuple(train.table.models)
        self._fit(train)
        return self

    @abstractmethod
    def _fit(self, train: TrainingSet) -> None: ...

    @abstractmethod
    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, M) float: higher means the model is more likely right on that query."""

    def rank(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, M) int: model indices per query, best first (ties broken by model order)."""
        if not self.models_:
            raise RuntimeError(f"{self.name} router is not fitted")
        s = self.scores(np.atleast_2d(np.asarray(embeddings, dtype=np.float32)))
        return np.argsort(-s, axis=1, kind="stable")

    def route(self, embeddings: np.ndarray, k: int = 1) -> list[list[str]]:
        """The names of the ``k`` best models per query."""
        return [[self.models_[i] for i in row[:k]] for row in self.rank(embeddings)]

    # ------------------------------------------------------------------ persistence
    def params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-able)."""
        return {}

    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Fitted state: a JSON-able dict and named arrays."""

    @abstractmethod
    def _load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None: ...

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = self._state()
        doc = {
            "format": ROUTER_FORMAT,
            "version": ROUTER_FORMAT_VERSION,
            "router": self.name,
            "params": self.params(),
            "models": list(self.models_),
            "state": meta,
            "arrays": sorted(arrays),
        }
        np.savez(directory / "arrays.npz", **arrays)
        (directory / "router.json").write_text(json.dumps(doc, indent=1))
        return directory

    @staticmethod
    def load(directory: str | Path) -> "Router":
        """Load any router written by :meth:`save`; refuses corrupt or incompatible artifacts."""
        directory = Path(directory)
        doc = read_versioned_json(directory / "router.json", ROUTER_FORMAT, ROUTER_FORMAT_VERSION, what="router")
        cls = Router._registry.get(doc.get("router"))
        if cls is None:
            raise ArtifactError(f"{directory}: unknown router type {doc.get('router')!r}")
        try:
            with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            missing = set(doc["arrays"]) - set(arrays)
            if missing:
                raise ArtifactError(f"{directory}: arrays.npz lacks {sorted(missing)}")
            router = cls(**doc["params"])
            router.models_ = tuple(doc["models"])
            router._load_state(doc["state"], arrays)
        except ArtifactError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here means a corrupt artifact
            raise ArtifactError(f"{directory}: corrupt {doc.get('router')} router ({type(exc).__name__}: {exc})") from None
        return router
