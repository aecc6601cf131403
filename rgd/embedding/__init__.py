"""Question embedders: TF-IDF + SVD (always available) and sentence-transformers MiniLM (the ``minilm`` extra).

Callers decide which text stands for a question (the question text only); this package turns texts into
unit-norm float32 vectors, optionally through an on-disk content-hash cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rgd.embedding.base import Embedder, normalize_rows
from rgd.embedding.cache import CachedEmbedder
from rgd.embedding.registry import EMBEDDER_KINDS, load_embedder, make_embedder
from rgd.embedding.sentence import MINILM_NAME, SentenceTransformerEmbedder
from rgd.embedding.tfidf import TfidfSvdEmbedder
from rgd.errors import NotFittedError
from rgd.home import embedding_cache_dir

__all__ = [
    "EMBEDDER_KINDS",
    "MINILM_NAME",
    "CachedEmbedder",
    "Embedder",
    "NotFittedError",
    "SentenceTransformerEmbedder",
    "TfidfSvdEmbedder",
    "default_cache_dir",
    "embed_questions",
    "fit_and_embed",
    "load_embedder",
    "make_embedder",
    "normalize_rows",
]


def default_cache_dir() -> Path:
    """``$RGD_HOME/cache/embeddings`` when RGD_HOME is set, else ``.rgd/cache/embeddings`` under the cwd."""
    return embedding_cache_dir()


def fit_and_embed(
    kind: str,
    train_texts: Sequence[str],
    test_texts: Sequence[str],
    cache_dir: str | Path | None = None,
    **params: Any,
) -> tuple[Embedder, np.ndarray, np.ndarray]:
    """Fit an embedder on the training texts, embed both sets (through the cache when ``cache_dir`` is set).

    Returns the fitted embedder (without its cache, for saving) and the two matrices."""
    embedder = make_embedder(kind, **params).fit(list(train_texts))
    return embedder, embed_questions(embedder, list(train_texts), cache_dir), embed_questions(
        embedder, list(test_texts), cache_dir
    )


def embed_questions(
    embedder: Embedder | str, texts: Sequence[str], cache_dir: str | Path | None = None
) -> np.ndarray:
    """Embed question texts, through the on-disk cache when ``cache_dir`` is given.

    ``embedder`` may be a kind name (built with default parameters). Fitted embedders must be fitted
    (or loaded) first: fitting is never done implicitly, so train and serve use the same state.
    """
    if isinstance(embedder, str):
        embedder = make_embedder(embedder)
    if cache_dir is not None and not isinstance(embedder, CachedEmbedder):
        embedder = CachedEmbedder(embedder, cache_dir)
    return embedder.embed(texts)
