"""Whether a question is far from every training question: the one out-of-distribution rule of a router bundle.

The rule reads the training questions' embeddings only, never the router, so it is the same for every router a
:class:`~rgd.routers.bundle.RouterBundle` can hold (with or without centroids of its own):

- **the reference**: the training questions' unit embeddings (a seeded sample of at most
  :data:`MAX_REFERENCE` of them, stored as float16); a query's *training similarity* is its cosine similarity
  to the nearest reference question (one (n, R) product per block of queries, no loop over queries);
- **the threshold**: the :data:`QUANTILE` (1st percentile) of the training questions' own training similarity,
  each measured leaving itself out (its nearest *other* reference question): in-sample, every reference
  question would be its own nearest neighbour at similarity 1; left out, it is what a new question from the
  training distribution sees.

Why a low quantile of the training questions' own similarities rather than a fixed cosine: cosine scales differ
between embedders (a TF-IDF projection, MiniLM) and between worlds, and the quantile needs no label: by
construction about 1% of questions like the training ones are flagged, while a question of another subject or
vocabulary falls below nearly every training question (an embedding of zeros, no term a TF-IDF embedder knows,
has similarity 0). Why the nearest question rather than the nearest cluster centroid: a centroid averages its
questions' particular words away and keeps what they share (a TF-IDF projection: the question templates'
words), so a question made only of such shared words sits closer to the centroids than most training
questions do; measured on the simulated world (2000 questions, TF-IDF), "Which enzyme unwinds DNA during
replication?" had similarity 0.63 to its nearest centroid against a threshold of 0.40, and 0.49 to its nearest
question against 0.59. What an embedder does not see it cannot flag: TF-IDF drops unknown words, so a question
written in the training templates' words with unknown subject words can still look in distribution.

A flagged question is still routed; the note says its ranking is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rgd.data.versioned_json import atomic_file, read_npz, read_versioned_json, write_versioned_json
from rgd.embedding.vectors import normalize_rows
from rgd.errors import ArtifactError, ParameterError

COVERAGE_FORMAT = "rgd.coverage"
COVERAGE_VERSION = 1
COVERAGE_FILE = "coverage.json"
REFERENCE_FILE = "reference.npz"
#: the most training questions kept as the reference (bounds the bundle and the (n, R) product per query)
MAX_REFERENCE = 4096
#: queries compared with the reference at once (bounds the (block, R) similarity matrix)
_BLOCK = 1024
#: the share of training-like questions flagged: the threshold is this quantile of their training similarity
QUANTILE = 0.01


class Distribution(NamedTuple):
    """Per embedded query, both (n,): ``out_of_distribution`` (bool; False where the bundle has no coverage)
    and ``similarity`` (its training similarity; NaN where the bundle has no coverage)."""

    out_of_distribution: np.ndarray
    similarity: np.ndarray


def nearest_similarity(x: np.ndarray, reference: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """(n,) cosine similarity of each row of ``x`` (n, d) to its nearest row of the unit ``reference`` (R, d) (0
    for a row of zeros); ``exclude`` (n,): a reference row each may not use (itself; -1: none)."""
    x = normalize_rows(np.asarray(x, dtype=np.float32))
    ref = np.asarray(reference, dtype=np.float32)
    if exclude is None and len(x) <= _BLOCK:  # one block (every gateway batch): one product, no loop
        return (x @ ref.T).max(axis=1).astype(np.float64)
    out = np.empty(len(x))
    for lo in range(0, len(x), _BLOCK):  # blocks of queries: memory bounded, each block one product
        sim = x[lo : lo + _BLOCK] @ ref.T
        if exclude is not None:
            rows = np.flatnonzero(exclude[lo : lo + _BLOCK] >= 0)
            sim[rows, exclude[lo : lo + _BLOCK][rows]] = -np.inf
        out[lo : lo + _BLOCK] = sim.max(axis=1)
    return out


@dataclass(frozen=True)
class Coverage:
    """The reference training questions' unit embeddings (R, d), and the training similarity below which a query
    is out of distribution (see the module docstring)."""

    reference: np.ndarray
    threshold: float
    quantile: float = QUANTILE
    n_train: int = 0

    def __post_init__(self) -> None:
        r = np.asarray(self.reference)
        if r.ndim != 2 or r.shape[0] < 1 or not np.isfinite(r).all():
            raise ParameterError(f"the coverage reference must be a finite (R >= 1, d) array, got shape {r.shape}")
        if not (np.isfinite(self.threshold) and -1.0 <= self.threshold <= 1.0):
            raise ParameterError(f"the coverage threshold must be a cosine in [-1, 1], got {self.threshold}")

    @classmethod
    def fit(cls, embeddings: np.ndarray, *, quantile: float = QUANTILE, seed: int = 0) -> "Coverage":
        """The coverage of the training questions' embeddings (Q, d), label-free (see the module docstring)."""
        x = normalize_rows(np.asarray(embeddings, dtype=np.float32))
        if x.ndim != 2 or len(x) == 0:
            raise ParameterError(f"coverage needs (Q >= 1, d) training embeddings, got shape {x.shape}")
        if not 0.0 < quantile < 1.0:
            raise ParameterError(f"quantile must be in (0, 1), got {quantile}")
        rng = np.random.default_rng([seed, 0xC0])
        keep = np.arange(len(x))
        if len(keep) > MAX_REFERENCE:
            keep = np.sort(rng.choice(len(keep), MAX_REFERENCE, replace=False))
        reference = x[keep].astype(np.float16).astype(np.float32)  # as stored: the threshold is measured on it
        if len(x) < 2:  # no other question to compare with: nothing can be said, nothing is flagged
            return cls(reference, -1.0, float(quantile), len(x))
        itself = np.full(len(x), -1)
        itself[keep] = np.arange(len(keep))
        held_out = nearest_similarity(x, reference, exclude=itself)
        return cls(reference, float(np.clip(np.quantile(held_out, quantile), -1.0, 1.0)), float(quantile), len(x))

    def of(self, x: np.ndarray) -> Distribution:
        """Per embedded query (n, d): whether it is out of distribution, and its training similarity."""
        sim = nearest_similarity(np.atleast_2d(x), self.reference)
        return Distribution(sim < self.threshold, sim)

    def note(self, similarity: float) -> str:
        """The words shown with a flagged question (``rgd route``, the gateway's ``rgd`` field)."""
        return (f"out of distribution: the question is far from every training question (similarity "
                f"{similarity:.3f} to the nearest, below {self.threshold:.3f}, the training questions' "
                f"{self.quantile:.0%} quantile): its ranking is a guess")

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_file(directory / REFERENCE_FILE) as fh:
            np.savez(fh, reference=np.asarray(self.reference, dtype=np.float16))
        doc = {"threshold": self.threshold, "quantile": self.quantile, "n_train": self.n_train,
               "n_reference": int(len(self.reference))}
        write_versioned_json(directory / COVERAGE_FILE, COVERAGE_FORMAT, COVERAGE_VERSION, doc)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Coverage":
        directory = Path(directory)
        doc = read_versioned_json(directory / COVERAGE_FILE, COVERAGE_FORMAT, COVERAGE_VERSION, what="coverage")
        arrays = read_npz(directory / REFERENCE_FILE, what="coverage reference", required=("reference",))
        try:
            return cls(arrays["reference"].astype(np.float32), float(doc["threshold"]), float(doc["quantile"]), int(doc["n_train"]))
        except (KeyError, TypeError, ValueError, ParameterError) as exc:
            raise ArtifactError(f"{directory / COVERAGE_FILE}: corrupt coverage ({type(exc).__name__}: {exc})") from None


def no_coverage(n: int) -> Distribution:
    """What a bundle without coverage (written before it existed) says of ``n`` queries: never flagged, unknown."""
    return Distribution(np.zeros(n, dtype=bool), np.full(n, np.nan))
