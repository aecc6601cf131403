"""The interface every question embedder shares.

An embedder turns texts into float32 row vectors of unit L2 norm. Embedders that learn from a corpus
(TF-IDF) must be ``fit`` first; pretrained ones (MiniLM) are ready as built. ``identity`` names the kind,
the parameters and, for fitted embedders, a hash of the fitted state: two embedders with the same identity
give the same vectors, so it keys the embedding cache and records lineage. ``save``/``load`` persist an
embedder as JSON plus NumPy arrays (never pickle), so a router trained with it can embed new queries later.
Fitted state lives in attributes ending in ``_`` (as in scikit-learn); using an unfitted embedder raises
:class:`rgd.errors.NotFittedError`. Which embedders exist is said once, in :mod:`rgd.embedding.registry`,
which fills :data:`EMBEDDER_KINDS` (importing :mod:`rgd.embedding` imports it, so ``Embedder.load`` knows every kind).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self, Sequence

import numpy as np

from rgd.data.versioned_json import read_versioned_json, write_versioned_json
from rgd.embedding.vectors import normalize_rows  # noqa: F401  (re-exported)
from rgd.errors import ArtifactError, NotFittedError, ParameterError, check_is_fitted, fitted_attributes
from rgd.params import read_params

__all__ = ["CONFIG_FILE", "EMBEDDER_KINDS", "Embedder", "NotFittedError", "check_texts", "normalize_rows",
           "register_embedders"]

EMBEDDER_FORMAT = "rgd.embedder"
EMBEDDER_FORMAT_VERSION = 1
CONFIG_FILE = "embedder.json"

#: every embedder type by ``kind``: the one registry, filled by :mod:`rgd.embedding.registry` (through
#: :func:`register_embedders`), read by :func:`rgd.embedding.registry.make_embedder` and :meth:`Embedder.load`
EMBEDDER_KINDS: dict[str, type["Embedder"]] = {}


def check_texts(texts: Sequence[str], who: str) -> list[str]:
    """The texts as a list, or a clear error naming the first non-string."""
    if isinstance(texts, str):
        raise TypeError(f"{who}: expected a sequence of texts, got a single string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{who}: text #{i} is {type(t).__name__}, expected str")
    return out


class Embedder(ABC):
    """Base class: subclasses set ``kind``, declare their parameters in ``__init__``'s signature (:mod:`rgd.params`)
    and implement ``_embed``, ``dim`` and ``identity``."""

    kind: ClassVar[str]
    #: True when ``embed`` needs a state learned by ``fit``
    requires_fit: ClassVar[bool] = False

    # ------------------------------------------------------------------ learning and embedding
    def fit(self, texts: Sequence[str]) -> Self:
        """Learn from a corpus; a no-op for pretrained embedders."""
        return self

    @property
    def is_fitted(self) -> bool:
        """Pretrained embedders always are; the others once ``fit`` or ``load`` has set their ``*_`` state."""
        return not self.requires_fit or bool(fitted_attributes(self))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 with unit-norm rows; (0, d) for empty input."""
        texts = check_texts(texts, f"{self.kind} embedder")
        self._require_fitted()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = normalize_rows(self._embed(texts))
        if out.shape != (len(texts), self.dim):
            raise RuntimeError(f"{self.kind} embedder returned shape {out.shape}, expected ({len(texts)}, {self.dim})")
        return out

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """(n, d) vectors for n >= 1 texts; ``embed`` normalises them."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """The embedding dimension."""

    def _require_fitted(self) -> None:
        check_is_fitted(
            self, f"{self.kind} embedder", hint="call fit(texts) on a training corpus or load a saved one"
        )

    # ------------------------------------------------------------------ naming
    def params(self) -> dict[str, Any]:
        """The constructor parameters, read back from the attributes of the same names (JSON-able), so that
        ``make_embedder(kind, **params)`` rebuilds it."""
        return read_params(self)

    @property
    @abstractmethod
    def identity(self) -> str:
        """Stable name: kind, parameters and (when fitted) a hash of the fitted state."""

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.params(), "identity": self.identity if self.is_fitted else None}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``embedder.json`` (and the fitted state, where there is one) into ``directory``."""
        self._require_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_state(directory)
        write_versioned_json(
            directory / CONFIG_FILE, EMBEDDER_FORMAT, EMBEDDER_FORMAT_VERSION, self.to_config(),
            version_key="format_version", indent=2, sort_keys=True,
        )
        return directory

    def _save_state(self, directory: Path) -> None:
        """Write the fitted state's files; nothing for pretrained embedders."""

    def _load_state(self, directory: Path) -> None:
        """Read what ``_save_state`` wrote."""

    @classmethod
    def load(cls, directory: str | Path) -> "Embedder":
        """Rebuild an embedder from ``save``'s output; refuses foreign or mismatched artifacts."""
        directory = Path(directory)
        path = directory / CONFIG_FILE
        doc = read_versioned_json(
            path, EMBEDDER_FORMAT, EMBEDDER_FORMAT_VERSION, what="embedder", version_key="format_version"
        )
        kind = doc.get("kind")
        klass = EMBEDDER_KINDS.get(kind)
        if klass is None:
            raise ArtifactError(f"{path}: unknown embedder kind {kind!r}; known: {sorted(EMBEDDER_KINDS)}")
        if cls is not Embedder and not issubclass(klass, cls):
            raise ArtifactError(f"{path}: holds a {kind!r} embedder, not a {cls.__name__}")
        try:
            emb = klass(**doc.get("params", {}))
        except TypeError as exc:
            raise ArtifactError(f"{path}: bad parameters for {kind!r} embedder ({exc})") from None
        emb._load_state(directory)
        saved_identity = doc.get("identity")
        if saved_identity is not None and emb.identity != saved_identity:
            raise ArtifactError(
                f"{path}: loaded state has identity {emb.identity!r} but the artifact records {saved_identity!r}"
            )
        return emb


def register_embedders(*classes: type[Embedder]) -> None:
    """Add embedder types to :data:`EMBEDDER_KINDS` under their ``kind`` (a kind is registered once)."""
    for cls in classes:
        if cls.kind in EMBEDDER_KINDS and EMBEDDER_KINDS[cls.kind] is not cls:
            raise ParameterError(f"embedder kind {cls.kind!r} is taken by {EMBEDDER_KINDS[cls.kind].__name__}")
        EMBEDDER_KINDS[cls.kind] = cls
