"""Where local state lives: one directory, ``$RGD_HOME`` when set, else ``./.rgd``."""

from __future__ import annotations

import os
from pathlib import Path


def rgd_home(home: str | Path | None = None) -> Path:
    """The project directory holding all local state: ``home``, else ``$RGD_HOME``, else ``./.rgd``."""
    if home is None:
        home = os.environ.get("RGD_HOME") or ".rgd"
    return Path(home).expanduser().resolve()


def embedding_cache_dir(home: str | Path | None = None) -> Path:
    """The on-disk embedding cache under the state directory."""
    return rgd_home(home) / "cache" / "embeddings"
