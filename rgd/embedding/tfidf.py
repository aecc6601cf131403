"""TF-IDF + truncated SVD (LSA) embedder: learned from the training questions, no model download.

``fit`` learns a vocabulary and idf weights (scikit-learn's TfidfVectorizer) and an SVD basis
(TruncatedSVD). The fitted state is kept as plain arrays -- the term list, the idf vector and the SVD
components -- and every ``embed`` (right after ``fit`` or after ``load``) runs the same NumPy/SciPy path over
them, so a saved-and-loaded embedder gives exactly the vectors of the one that was fitted. Texts with no
known term embed to the zero vector (cosine 0 to everything).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Self, Sequence

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from rgd.embedding.base import Embedder, check_texts
from rgd.errors import ArtifactError, ParameterError

log = logging.getLogger(__name__)

VOCAB_FILE = "tfidf_vocabulary.json"
STATE_FILE = "tfidf_state.npz"


class TfidfSvdEmbedder(Embedder):
    kind: ClassVar[str] = "tfidf"
    requires_fit: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 256,
        max_features: int | None = 50000,
        ngram_range: tuple[int, int] | list[int] = (1, 2),
        sublinear_tf: bool = True,
        seed: int = 0,
    ) -> None:
        if int(n_components) < 1:
            raise ParameterError(f"n_components must be >= 1, got {n_components}")
        if max_features is not None and int(max_features) < 1:
            raise ParameterError(f"max_features must be >= 1 or None, got {max_features}")
        ngram = tuple(int(n) for n in ngram_range)
        if len(ngram) != 2 or not 1 <= ngram[0] <= ngram[1]:
            raise ParameterError(f"ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, got {ngram_range!r}")
        self.n_components = int(n_components)
        self.max_features = None if max_features is None else int(max_features)
        self.ngram_range: tuple[int, int] = (ngram[0], ngram[1])
        self.sublinear_tf = bool(sublinear_tf)
        self.seed = int(seed)
        # fitted state, set by fit / load: vocabulary_ (V terms), idf_ (V,) float32, components_ (k, V) float32
        self._counter: CountVectorizer | None = None  # built from vocabulary_
        self._state_hash: str | None = None

    # ------------------------------------------------------------------ learning
    def fit(self, texts: Sequence[str]) -> Self:
        texts = check_texts(texts, "tfidf embedder")
        if not texts:
            raise ParameterError("tfidf embedder: cannot fit on zero texts")
        vectorizer = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=self.ngram_range,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )
        try:
            vectorizer.fit(texts)
        except ValueError as exc:
            raise ParameterError(f"tfidf embedder: cannot learn a vocabulary from these {len(texts)} texts ({exc})") from None
        terms = vectorizer.get_feature_names_out().tolist()
        idf = np.asarray(vectorizer.idf_, dtype=np.float32)
        self._set_vocabulary(terms, idf)

        x = self._tfidf(texts)
        k = min(self.n_components, x.shape[0], x.shape[1])
        if k < self.n_components:
            log.warning(
                "tfidf embedder: %d texts with %d terms allow at most %d components; using %d instead of %d",
                x.shape[0], x.shape[1], k, k, self.n_components,
            )
        svd = TruncatedSVD(n_components=k, algorithm="randomized", random_state=self.seed)
        svd.fit(x)
        self.components_ = np.ascontiguousarray(svd.components_, dtype=np.float32)
        self._state_hash = self._hash_state()
        return self

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray) -> None:
        self.vocabulary_ = terms
        self.idf_ = np.ascontiguousarray(idf, dtype=np.float32)
        self._counter = CountVectorizer(ngram_range=self.ngram_range, vocabulary=terms, dtype=np.float32)

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "components_", None) is not None  # set last, so a failed fit is not a fitted one

    # ------------------------------------------------------------------ embedding
    def _tfidf(self, texts: list[str]):
        """(n, V) rows: (sublinear) term counts times idf, L2-normalised -- the TfidfVectorizer recipe."""
        assert self._counter is not None and self.idf_ is not None
        x = self._counter.transform(texts).tocsr().astype(np.float32)  # sparse (n, V) term counts
        if self.sublinear_tf:
            np.log(x.data, out=x.data)
            x.data += np.float32(1.0)
        # idf and the row norms straight on the CSR arrays: scipy's broadcast multiply and scikit-learn's
        # normalize (with its parameter validation) cost ~240 us for one question, which the gateway pays per batch
        x.data *= self.idf_[x.indices]
        per_row = np.diff(x.indptr)
        rows = np.repeat(np.arange(x.shape[0]), per_row)
        norms = np.sqrt(np.bincount(rows, weights=np.square(x.data, dtype=np.float64), minlength=x.shape[0]))
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)  # an empty row stays zero
        x.data *= np.repeat(scale, per_row).astype(np.float32)
        return x

    def _embed(self, texts: list[str]) -> np.ndarray:
        assert self.components_ is not None
        return np.asarray(self._tfidf(texts) @ self.components_.T, dtype=np.float32)

    @property
    def dim(self) -> int:
        self._require_fitted()
        assert self.components_ is not None
        return int(self.components_.shape[0])

    # ------------------------------------------------------------------ naming
    def params(self) -> dict[str, Any]:
        return {
            "n_components": self.n_components,
            "max_features": self.max_features,
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "seed": self.seed,
        }

    def _hash_state(self) -> str:
        assert self.vocabulary_ is not None and self.idf_ is not None and self.components_ is not None
        h = hashlib.sha256()
        h.update(json.dumps(self.vocabulary_, ensure_ascii=False).encode("utf-8"))
        h.update(self.idf_.astype("<f4").tobytes())
        h.update(np.asarray(self.components_.shape, dtype="<i8").tobytes())
        h.update(self.components_.astype("<f4").tobytes())
        return h.hexdigest()[:16]

    @property
    def identity(self) -> str:
        self._require_fitted()
        lo, hi = self.ngram_range
        return (
            f"tfidf:n_components={self.n_components},max_features={self.max_features},ngram={lo}-{hi},"
            f"sublinear_tf={self.sublinear_tf},seed={self.seed},state={self._state_hash}"
        )

    # ------------------------------------------------------------------ persistence
    def _save_state(self, directory: Path) -> None:
        assert self.vocabulary_ is not None
        (directory / VOCAB_FILE).write_text(json.dumps(self.vocabulary_, ensure_ascii=False), encoding="utf-8")
        with open(directory / STATE_FILE, "wb") as fh:
            np.savez_compressed(fh, idf=self.idf_, components=self.components_)

    def _load_state(self, directory: Path) -> None:
        try:
            terms = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
            with np.load(directory / STATE_FILE, allow_pickle=False) as z:
                idf = np.asarray(z["idf"], dtype=np.float32)
                components = np.asarray(z["components"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{directory}: cannot read the tfidf embedder state ({exc})") from None
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ArtifactError(f"{directory / VOCAB_FILE}: expected a JSON list of terms")
        if idf.shape != (len(terms),) or components.ndim != 2 or components.shape[1] != len(terms):
            raise ArtifactError(
                f"{directory}: inconsistent tfidf state ({len(terms)} terms, idf {idf.shape}, "
                f"components {components.shape})"
            )
        self._set_vocabulary(terms, idf)
        self.components_ = np.ascontiguousarray(components)
        self._state_hash = self._hash_state()
