"""On-disk embedding cache keyed by content: sha256(embedder identity + "\\0" + text).

Layout: ``<cache_dir>/<sha256(identity)[:16]>/`` holds ``meta.json`` (identity, dimension) and shards
``shard-*.npz``, each with ``keys`` (n, 32) uint8 digests and ``vectors`` (n, d) float32. Every call that
computes something appends one shard per ``chunk_size`` new texts (so an interrupted run keeps what it
finished), each written to a temporary file and moved into place with
``os.replace``, so a crash never leaves a half-written shard and concurrent writers never collide.
Shards are read once into memory (key -> row); new shards from other processes are picked up on the next
call. A shard that cannot be read is renamed ``*.corrupt``, logged, and its texts are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, ClassVar, Self, Sequence

import numpy as np

from rgd.embedding.base import Embedder, check_texts
from rgd.errors import ParameterError
from rgd.params import Count, check_params

log = logging.getLogger(__name__)

_KEY_BYTES = 32
#: merge shards into one when a directory holds more than this many
AUTO_COMPACT_SHARDS = 64


def text_key(identity: str, text: str) -> bytes:
    return hashlib.sha256(identity.encode("utf-8") + b"\0" + text.encode("utf-8")).digest()


def _atomic_write(path: Path, write) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path`` and move it into place."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Store:
    """The shards of one embedder identity: an in-memory index over the files of one directory."""

    def __init__(self, directory: Path, identity: str) -> None:
        self.dir = directory
        self.identity = identity
        self.dim: int | None = None
        self.index: dict[bytes, tuple[int, int]] = {}  # key -> (block, row)
        self.blocks: list[np.ndarray] = []
        self.seen: set[str] = set()
        self._read_meta()

    # ------------------------------------------------------------------ files
    def _read_meta(self) -> None:
        path = self.dir / "meta.json"
        if not path.is_file():
            return
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            if meta["identity"] != self.identity:
                raise ParameterError(f"records identity {meta['identity']!r}, expected {self.identity!r}")
            self.dim = int(meta["dim"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("embedding cache: ignoring unreadable %s (%s)", path, exc)

    def _write_meta(self) -> None:
        path = self.dir / "meta.json"
        doc = {"identity": self.identity, "dim": self.dim}
        _atomic_write(path, lambda fh: fh.write((json.dumps(doc, indent=2) + "\n").encode("utf-8")))

    def shard_files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.name.startswith("shard-") and p.name.endswith(".npz"))

    def refresh(self) -> None:
        """Load shards written since the last look (by this or another process)."""
        for path in self.shard_files():
            if path.name not in self.seen:
                self._load_shard(path)

    def _load_shard(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = np.asarray(z["keys"])
                vectors = np.asarray(z["vectors"])
            if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != _KEY_BYTES:
                raise ParameterError(f"keys have dtype {keys.dtype} and shape {keys.shape}")
            if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[0] != keys.shape[0]:
                raise ParameterError(f"vectors have dtype {vectors.dtype} and shape {vectors.shape} for {len(keys)} keys")
            if self.dim is not None and vectors.shape[1] != self.dim:
                raise ParameterError(f"vectors have dimension {vectors.shape[1]}, cache records {self.dim}")
            if not np.isfinite(vectors).all():
                raise ParameterError("vectors contain NaN or infinity")
        except FileNotFoundError:
            return  # merged away by a concurrent compaction; its rows live in the merged shard
        except Exception as exc:  # noqa: BLE001 - any unreadable shard is skipped, never fatal
            log.warning("embedding cache: ignoring corrupt shard %s (%s); its texts will be recomputed", path, exc)
            try:
                os.replace(path, path.with_name(path.name + ".corrupt"))
            except OSError:
                self.seen.add(path.name)
            return
        self.seen.add(path.name)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        block = len(self.blocks)
        self.blocks.append(vectors)
        for row, key in enumerate(keys):
            self.index[key.tobytes()] = (block, row)

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Persist one new shard and index it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        if not (self.dir / "meta.json").is_file():
            self._write_meta()
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        name = f"shard-{uuid.uuid4().hex}.npz"
        _atomic_write(self.dir / name, lambda fh: np.savez(fh, keys=key_arr, vectors=vectors))
        self.seen.add(name)
        block = len(self.blocks)
        self.blocks.append(vectors)
        for row, key in enumerate(keys):
            self.index[key] = (block, row)

    def gather(self, keys: list[bytes]) -> np.ndarray:
        """The cached vectors of ``keys`` (all present), in order."""
        where = np.array([self.index[key] for key in keys], dtype=np.int64).reshape(len(keys), 2)
        out = np.empty((len(keys), self.dim or 0), dtype=np.float32)
        for block in np.unique(where[:, 0]):
            mask = where[:, 0] == block
            out[mask] = self.blocks[block][where[mask, 1]]
        return out

    def compact(self) -> None:
        """Merge every shard into one (written atomically before the old ones are removed)."""
        self.refresh()
        old = [self.dir / name for name in sorted(self.seen)]
        if len(old) <= 1:
            return
        keys = list(self.index)
        vectors = self.gather(keys)
        self.add(keys, vectors)  # re-points every key at the merged block
        for path in old:
            path.unlink(missing_ok=True)
            self.seen.discard(path.name)
        self.blocks = [self.blocks[-1]]
        self.index = {key: (0, row) for key, (_, row) in self.index.items()}


class CachedEmbedder(Embedder):
    """Wraps an embedder; texts seen before (under the same identity) are read from disk, not recomputed."""

    kind: ClassVar[str] = "cached"  # not in the registry: it saves as the embedder it wraps

    def __init__(self, inner: Embedder, cache_dir: str | Path, chunk_size: Count = 4096) -> None:
        if not isinstance(inner, Embedder):
            raise TypeError(f"inner must be an Embedder, got {type(inner).__name__}")
        check_params(type(self), locals())
        #: missing texts are computed and stored this many at a time, so an interrupted run keeps its work
        self.chunk_size = int(chunk_size)
        self.inner = inner
        self.cache_dir = Path(cache_dir)
        self._stores: dict[str, _Store] = {}
        self.hits = 0
        self.misses = 0

    def _store(self) -> _Store:
        identity = self.inner.identity
        store = self._stores.get(identity)
        if store is None:
            sub = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
            store = self._stores[identity] = _Store(self.cache_dir / sub, identity)
        return store

    # ------------------------------------------------------------------ Embedder
    def fit(self, texts: Sequence[str]) -> Self:
        self.inner.fit(texts)
        return self

    @property
    def is_fitted(self) -> bool:
        return self.inner.is_fitted

    def _require_fitted(self) -> None:
        self.inner._require_fitted()  # the message names the wrapped embedder

    @property
    def dim(self) -> int:
        if self.is_fitted:
            store = self._store()
            store.refresh()
            if store.dim is not None:
                return store.dim  # avoid loading a model just to learn its dimension
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts, "cached embedder")
        self._require_fitted()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        store = self._store()
        store.refresh()
        identity = store.identity
        keys = [text_key(identity, t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in store.index and key not in missing:
                missing[key] = text
        self.hits += len(texts) - sum(1 for k in keys if k in missing)
        self.misses += len(missing)
        new_keys, new_texts = list(missing), list(missing.values())
        for start in range(0, len(new_keys), self.chunk_size):
            stop = start + self.chunk_size
            if len(new_keys) > self.chunk_size:
                log.info("embedding cache: computing texts %d-%d of %d", start + 1, min(stop, len(new_keys)), len(new_keys))
            store.add(new_keys[start:stop], self.inner.embed(new_texts[start:stop]))
        if len(store.seen) > AUTO_COMPACT_SHARDS:
            store.compact()
        return store.gather(keys)

    def _embed(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - embed is overridden
        return self.embed(texts)

    def compact(self) -> None:
        """Merge this identity's shards into one file."""
        self._store().compact()

    def params(self) -> dict[str, Any]:
        return self.inner.params()

    @property
    def identity(self) -> str:
        return self.inner.identity

    def to_config(self) -> dict[str, Any]:
        return self.inner.to_config()

    def save(self, directory: str | Path) -> Path:
        return self.inner.save(directory)

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, cache_dir={str(self.cache_dir)!r})"
