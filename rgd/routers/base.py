"""The interface every router shares, so CASCAL and the baselines are interchangeable.

``fit(TrainingSet)`` learns from a pool's answers to training questions (and their embeddings);
``rank(embeddings)`` returns, per query, the pool's model indices from best to worst. Routers persist as
a JSON document plus a NumPy ``.npz`` of arrays (never pickle), and refuse artifacts they did not write.

Routers follow scikit-learn's estimator conventions: ``__init__`` takes keyword parameters only, each declared
once in its signature (type, allowed values, default: :mod:`rgd.params`), and hands them to
:func:`rgd.params.init_params`, which refuses bad values and stores each one unchanged under its own name, so
:meth:`Router.get_params` reads them back through the signature and :meth:`Router.set_params` changes them;
everything ``fit`` (or ``load``) learns lives in attributes ending in ``_``, and a router without them is not fitted
(:class:`~rgd.errors.NotFittedError`). Which routers exist is said once, in :mod:`rgd.routers.registry`,
which fills :data:`ROUTERS` (importing :mod:`rgd.routers` imports it, so ``Router.load`` knows every type).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from rgd.consensus import ConsensusResult
from rgd.data.response_table import ResponseTable
from rgd.data.versioned_json import atomic_file, read_npz, read_versioned_json, write_versioned_json
from rgd.embedding.vectors import normalize_rows  # noqa: F401  (re-exported)
from rgd.errors import ArtifactError, ParameterError, check_is_fitted
from rgd.params import init_parameters, read_params

ROUTER_FORMAT = "rgd.router"
ROUTER_FORMAT_VERSION = 1
ROUTER_FILE = "router.json"
ARRAYS_FILE = "arrays.npz"

#: every router type by ``name``: the one registry, filled by :mod:`rgd.routers.registry` (through
#: :func:`register_routers`), read by :func:`rgd.routers.registry.make_router` and :meth:`Router.load`
ROUTERS: dict[str, type["Router"]] = {}


@dataclass(frozen=True)
class TrainingSet:
    """What a router may learn from: the pool's answers, the question embeddings and the consensus."""

    table: ResponseTable
    embeddings: np.ndarray  # (Q, d) float32, rows L2-normalised
    consensus: ConsensusResult
    #: (Q,) the generator's key per question (-1: none), or None when no generator wrote the questions. Data,
    #: not labels: label-free routers may weigh the generator as one more voter; ``table.answers`` is what
    #: label-using routers learn from (the same keys in the pipeline; hidden from label-free routers)
    generator_keys: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.generator_keys is not None and np.shape(self.generator_keys) != (self.table.n_questions,):
            raise ParameterError(f"generator_keys must be ({self.table.n_questions},), got {np.shape(self.generator_keys)}")
        if self.embeddings.ndim != 2 or self.embeddings.shape[0] != self.table.n_questions:
            raise ParameterError(
                f"embeddings must be (n_questions={self.table.n_questions}, d), got {self.embeddings.shape}"
            )
        if not np.isfinite(self.embeddings).all():
            bad = np.flatnonzero(~np.isfinite(self.embeddings).all(axis=1))
            raise ParameterError(
                f"embeddings of {bad.size} questions contain NaN or inf "
                f"(first: {[self.table.question_ids[i] for i in bad[:5]]})"
            )


    def take(self, idx: np.ndarray) -> "TrainingSet":
        """The training set restricted to the questions at ``idx`` (in that order)."""
        c = self.consensus
        cons = ConsensusResult(c.posterior[idx], c.majority[idx], c.agreement[idx], c.scores[:, idx], c.z[:, idx],
                               c.weights[:, idx])
        keys = None if self.generator_keys is None else np.asarray(self.generator_keys)[idx]
        return TrainingSet(self.table.take(idx), self.embeddings[idx], cons, keys)


class Router(ABC):
    """Base class: subclasses set ``name`` and implement ``_fit``, ``_scores`` and the state hooks."""

    name: ClassVar[str]
    #: True when the router learns from answer keys (query-answer routers, CASCAL-GT, best single)
    uses_labels: ClassVar[bool] = False

    #: the pool's model names, in score-column order (set by ``fit`` / ``load``)
    models_: tuple[str, ...]

    # ------------------------------------------------------------------ parameters (scikit-learn style)
    @classmethod
    def _init_parameters(cls) -> list[inspect.Parameter]:
        """The constructor's parameters, in signature order (none for a router without ``__init__``)."""
        return init_parameters(cls)

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p.name for p in cls._init_parameters()]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, read from the attributes of the same names (JSON-able)."""
        return read_params(self)

    def params(self) -> dict[str, Any]:
        """The same as :meth:`get_params` (the name the embedders use)."""
        return self.get_params()

    def set_params(self, **params: Any) -> Self:
        """Change constructor parameters; validated by the constructor, fitted state kept (as in scikit-learn)."""
        valid = self._param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ParameterError(f"invalid parameters {unknown} for the {self.name!r} router; valid: {valid}")
        type(self)(**{**self.get_params(), **params})  # refuses bad values as the constructor does
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in self._init_parameters()}
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k, inspect.Parameter.empty) != v}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ------------------------------------------------------------------ learning and routing
    def fit(self, train: TrainingSet) -> Self:
        if train.table.n_questions == 0:
            raise ParameterError(f"{self.name}: cannot fit on zero training questions")
        self._fit(train)
        self.models_ = tuple(train.table.models)
        return self

    @abstractmethod
    def _fit(self, train: TrainingSet) -> None: ...

    def check_is_fitted(self) -> None:
        """NotFittedError unless ``fit`` or ``load`` has run."""
        check_is_fitted(
            self, f"{self.name} router", attributes=("models_",), hint="call fit(train) or load a saved router"
        )

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, M) float: higher means the model is more likely right on that query."""
        self.check_is_fitted()
        return self._scores(np.atleast_2d(np.asarray(embeddings, dtype=np.float32)))

    @abstractmethod
    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        """``scores`` of a fitted router on (n, d) float32 embeddings."""

    def correctness_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, M) float: per-query evidence of each model's chance of being right, what a cost policy
        calibrates into probabilities (:mod:`rgd.routers.policy`). Default: :meth:`scores`. A router that
        ranks at a coarser level than it can estimate (``truth_cluster`` choosing one pool-wide ranking)
        returns its finer estimate here: trading accuracy against cost needs to know where a cheap model is
        as good as a dear one, even where the quality-only choice is the same everywhere."""
        return self.scores(embeddings)

    def rank(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, M) int: model indices per query, best first (ties broken by model order)."""
        return np.argsort(-self.scores(embeddings), axis=1, kind="stable")

    def route(self, embeddings: np.ndarray, k: int = 1) -> list[list[str]]:
        """The names of the ``k`` best models per query."""
        return [[self.models_[i] for i in row[:k]] for row in self.rank(embeddings)]

    # ------------------------------------------------------------------ persistence
    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Fitted state: a JSON-able dict and named arrays."""

    @abstractmethod
    def _load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None: ...

    def save(self, directory: str | Path) -> Path:
        """Write ``router.json`` (type, parameters, pool, state) and ``arrays.npz`` into ``directory``."""
        self.check_is_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = self._state()
        doc = {
            "router": self.name,
            "params": self.get_params(),
            "models": list(self.models_),
            "state": meta,
            "arrays": sorted(arrays),
        }
        with atomic_file(directory / ARRAYS_FILE) as fh:
            np.savez(fh, **arrays)
        write_versioned_json(directory / ROUTER_FILE, ROUTER_FORMAT, ROUTER_FORMAT_VERSION, doc)
        return directory

    @staticmethod
    def load(directory: str | Path) -> "Router":
        """Load any router written by :meth:`save`; refuses corrupt or incompatible artifacts."""
        directory = Path(directory)
        path = directory / ROUTER_FILE
        doc = read_versioned_json(path, ROUTER_FORMAT, ROUTER_FORMAT_VERSION, what="router")
        cls = ROUTERS.get(doc.get("router"))
        if cls is None:
            raise ArtifactError(f"{path}: unknown router type {doc.get('router')!r}; known: {sorted(ROUTERS)}")
        try:
            arrays = read_npz(directory / ARRAYS_FILE, what=f"{doc['router']} router", required=doc["arrays"])
            router = cls(**doc["params"])
            router.models_ = tuple(doc["models"])
            router._load_state(doc["state"], arrays)
        except ArtifactError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here means a corrupt artifact
            raise ArtifactError(f"{path}: corrupt {doc.get('router')} router ({type(exc).__name__}: {exc})") from None
        return router


def register_routers(*classes: type[Router]) -> None:
    """Add router types to :data:`ROUTERS` under their ``name`` (a name is registered once)."""
    for cls in classes:
        if cls.name in ROUTERS and ROUTERS[cls.name] is not cls:
            raise ParameterError(f"router name {cls.name!r} is taken by {ROUTERS[cls.name].__name__}")
        ROUTERS[cls.name] = cls
