"""TF-IDF + truncated SVD (LSA) embedder: learned from the training questions, no model download.

``fit`` learns a vocabulary and idf weights (scikit-learn's TfidfVectorizer) and an SVD basis
(TruncatedSVD). The fitted state is kept as plain arrays -- the term list, the idf vector and the SVD
components -- and every ``embed`` (right after ``fit`` or after ``load``) runs the same NumPy/SciPy path over
them, so a saved-and-loaded embedder gives exactly the vectors of the one that was fitted. Texts with no
known term embed to the zero vector (cosine 0 to everything).

``embed`` counts terms with the vectorizer's own analyzer and a term -> column dict (no scikit-learn call
per batch); a small batch, such as the few questions the gateway embeds at a time, is projected by gathering
SVD columns, where SciPy's matrix constructors used to cost most of the time (``benchmarks/tfidf_embed_speed.py``).
One text (what the gateway embeds at low load) takes the same gather with a handful of NumPy calls
(``_weights_one``), bit for bit the batch's vector (``benchmarks/route_one_speed.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Annotated, Any, Callable, ClassVar, Self, Sequence

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from rgd.data.versioned_json import atomic_file, write_text_atomic
from rgd.embedding.base import Embedder, check_texts
from rgd.errors import ArtifactError, ParameterError
from rgd.params import AscendingPair, Count, check_params

log = logging.getLogger(__name__)

VOCAB_FILE = "tfidf_vocabulary.json"
STATE_FILE = "tfidf_state.npz"
#: batches up to this size are projected by gathering SVD columns (no SciPy matrix per call); larger ones, where
#: the gathered block outgrows the caches, by SciPy's sparse product. The two round differently (~6e-8).
_GATHER_MAX = 32
#: reduceat's one segment, from row 0: sums a single text's gathered SVD columns in the gather path's order
_FIRST = np.zeros(1, dtype=np.int64)


class TfidfSvdEmbedder(Embedder):
    kind: ClassVar[str] = "tfidf"
    requires_fit: ClassVar[bool] = True

    def __init__(
        self,
        n_components: Count = 256,
        max_features: Count | None = 50000,
        ngram_range: Annotated[tuple[int, int] | list[int], AscendingPair(low=1)] = (1, 2),
        sublinear_tf: bool = True,
        seed: int = 0,
    ) -> None:
        check_params(type(self), locals())
        # stored as plain Python values (numpy integers are allowed in), so params() is JSON
        self.n_components = int(n_components)
        self.max_features = None if max_features is None else int(max_features)
        self.ngram_range: tuple[int, int] = (int(ngram_range[0]), int(ngram_range[1]))
        self.sublinear_tf = bool(sublinear_tf)
        self.seed = int(seed)
        # fitted state, set by fit / load: vocabulary_ (V terms), idf_ (V,) float32, components_ (k, V) float32
        self._analyze: Callable[[str], list[str]] | None = None  # the vectorizer's analyzer, built from vocabulary_
        self._column: dict[str, int] = {}  # term -> column
        self._components_t: np.ndarray | None = None  # (V, k) float32, components_.T contiguous
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
        self._set_components(svd.components_)
        return self

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray) -> None:
        self.vocabulary_ = terms
        self.idf_ = np.ascontiguousarray(idf, dtype=np.float32)
        self._analyze = CountVectorizer(ngram_range=self.ngram_range, vocabulary=terms).build_analyzer()
        self._column = {t: j for j, t in enumerate(terms)}

    def _set_components(self, components: np.ndarray) -> None:
        self.components_ = np.ascontiguousarray(components, dtype=np.float32)
        self._components_t = np.ascontiguousarray(self.components_.T)
        self._state_hash = self._hash_state()

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "components_", None) is not None  # set last, so a failed fit is not a fitted one

    # ------------------------------------------------------------------ embedding
    def _counts(self, text: str) -> dict[int, int]:
        """Column -> count of the text's known terms (the vectorizer's analyzer, the term -> column dict)."""
        assert self._analyze is not None
        column = self._column
        found: dict[int, int] = {}
        for j in map(column.get, self._analyze(text)):
            if j is not None:
                found[j] = found.get(j, 0) + 1
        return found

    def _weights(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TfidfVectorizer recipe as CSR arrays (data, columns, row pointers) of the (n, V) matrix:
        (sublinear) term counts times idf, rows L2-normalised, columns ascending within a row."""
        assert self.idf_ is not None
        cols: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            found = self._counts(text)
            for j in sorted(found):
                cols.append(j)
                counts.append(found[j])
            indptr.append(len(cols))
        columns = np.array(cols, dtype=np.int64)
        data = np.array(counts, dtype=np.float32)
        if self.sublinear_tf:
            np.log(data, out=data)
            data += np.float32(1.0)
        data *= self.idf_[columns]
        ptr = np.array(indptr, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts)), np.diff(ptr))
        norms = np.sqrt(np.bincount(rows, weights=np.square(data, dtype=np.float64), minlength=len(texts)))
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)  # an empty row stays zero
        data *= scale[rows].astype(np.float32)
        return data, columns, ptr

    def _weights_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_weights` of one text, bit for bit, as (data, columns), with a handful of NumPy calls instead of
        a dozen (the gateway embeds one question at a time at low load): the L2 norm is the same float64
        sum, term by term in column order, as ``bincount``'s (tests/rgd/embedding/test_tfidf_one.py)."""
        assert self.idf_ is not None
        found = self._counts(text)
        cols = sorted(found)
        columns = np.array(cols, dtype=np.int64)
        data = np.array([found[j] for j in cols], dtype=np.float32)
        if not cols:
            return data, columns
        if self.sublinear_tf:
            np.log(data, out=data)
            data += np.float32(1.0)
        data *= self.idf_[columns]
        total = 0.0
        for square in np.square(data, dtype=np.float64).tolist():  # in order, in float64: bincount's sum
            total += square
        data *= np.float32(1.0 / math.sqrt(total))  # idf > 0 and counts >= 1: a known term never weighs 0
        return data, columns

    def _tfidf(self, texts: list[str]):
        """The (n, V) TF-IDF matrix, sparse (CSR): what the SVD is fitted on."""
        from scipy.sparse import csr_matrix

        data, columns, indptr = self._weights(texts)
        return csr_matrix((data, columns, indptr), shape=(len(texts), len(self.idf_)))

    def _embed(self, texts: list[str]) -> np.ndarray:
        assert self._components_t is not None
        if len(texts) == 1:  # the gateway's usual batch: the same gather, fewer NumPy calls
            data, columns = self._weights_one(texts[0])
            if not len(columns):
                return np.zeros((1, self._components_t.shape[1]), dtype=np.float32)
            gathered = self._components_t[columns]
            gathered *= data[:, None]
            return np.add.reduceat(gathered, _FIRST, axis=0)
        if len(texts) > _GATHER_MAX:
            return np.asarray(self._tfidf(texts) @ self._components_t, dtype=np.float32)
        # a few texts: gather and sum each row's SVD columns, with no SciPy matrix to build
        data, columns, indptr = self._weights(texts)
        out = np.zeros((len(texts), self._components_t.shape[1]), dtype=np.float32)
        filled = np.flatnonzero(np.diff(indptr))  # rows with a known term; the others stay zero
        if len(filled):
            out[filled] = np.add.reduceat(self._components_t[columns] * data[:, None], indptr[filled], axis=0)
        return out

    @property
    def dim(self) -> int:
        self._require_fitted()
        assert self.components_ is not None
        return int(self.components_.shape[0])

    # ------------------------------------------------------------------ naming
    def _hash_state(self) -> str:
        assert self.vocabulary_ is not None and self.idf_ is not None and self.components_ is not None
        h = hashlib.sha256()
        h.update(json.dumps(self.vocabulary_, ensure_ascii=False).encode("utf-8"))
        h.update(self.idf_.astype("<f4").tobytes())
        h.update(np.asarray(self.components_.shape, dtype="<i8").tobytes())
        h.update(self.components_.astype("<f4").tobytes())
        return h.hexdigest()[:16]

    def params(self) -> dict[str, Any]:
        return {**super().params(), "ngram_range": list(self.ngram_range)}  # as JSON reads it back

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
        write_text_atomic(directory / VOCAB_FILE, json.dumps(self.vocabulary_, ensure_ascii=False))
        with atomic_file(directory / STATE_FILE) as fh:
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
        self._set_components(components)
