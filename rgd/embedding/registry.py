"""Every embedder by kind: the one list of embedder types, which fills ``EMBEDDER_KINDS``.

The dict lives in :mod:`rgd.embedding.base`, so ``Embedder.load`` reads saved embedders through it without
importing this module back; :func:`make_embedder` builds from it. A new embedder kind is added here.
Wrappers (the content-hash cache) are not kinds: they save as what they wrap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rgd.embedding.base import EMBEDDER_KINDS, Embedder, register_embedders
from rgd.embedding.sentence import SentenceTransformerEmbedder
from rgd.embedding.tfidf import TfidfSvdEmbedder
from rgd.errors import ParameterError

register_embedders(TfidfSvdEmbedder, SentenceTransformerEmbedder)

__all__ = ["EMBEDDER_KINDS", "EMBEDDER_KIND_NAMES", "MINILM_KIND", "TFIDF_KIND", "load_embedder", "make_embedder"]

#: the kinds' names, each typed once (on its class): what a run config's ``embedder.kind`` may be
TFIDF_KIND = TfidfSvdEmbedder.kind
MINILM_KIND = SentenceTransformerEmbedder.kind
EMBEDDER_KIND_NAMES = tuple(EMBEDDER_KINDS)


def make_embedder(kind: str, **params: Any) -> Embedder:
    """Build an embedder by kind ("tfidf" or "minilm") with its constructor parameters."""
    klass = EMBEDDER_KINDS.get(kind)
    if klass is None:
        raise ParameterError(f"unknown embedder kind {kind!r}; valid kinds: {', '.join(sorted(EMBEDDER_KINDS))}")
    try:
        return klass(**params)
    except TypeError as exc:
        raise ParameterError(f"bad parameters for the {kind!r} embedder: {exc}") from None


def load_embedder(directory: str | Path) -> Embedder:
    """Rebuild an embedder written by ``Embedder.save``."""
    return Embedder.load(directory)
