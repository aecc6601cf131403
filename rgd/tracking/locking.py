"""One writer at a time on a local MLflow store: a file lock next to the store.

MLflow's SQLite and file stores have no compare-and-set: two processes that read the champion, compare
and write the alias at the same time can both "win", and two processes creating a fresh store at once race
on its schema. Every read-check-write on the registry (registration, promotion, hand promotion, rollback)
and the first initialisation of a store run under :func:`registry_lock`, an exclusive ``flock`` on a file
beside the store (``mlflow.db.lock`` for ``sqlite:///.../mlflow.db``). A tracking server has no file to
lock: there the promotion re-checks the alias before and after writing it (see ``rgd.tracking.promotion``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

LOCK_SUFFIX = ".lock"


def lock_path(uri: str) -> Path | None:
    """The lock file of a local store URI (SQLite or file store); None for a server."""
    if uri.startswith("sqlite:///"):
        db = uri[len("sqlite:///"):].split("?", 1)[0]
        if not db or db == ":memory:":
            return None
        return Path(db + LOCK_SUFFIX)
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        root = Path(parsed.path if parsed.scheme == "file" else uri)
        return root / f".rgd-registry{LOCK_SUFFIX}"
    return None


def current_uri() -> str:
    import mlflow

    return mlflow.get_registry_uri() or mlflow.get_tracking_uri()


@contextlib.contextmanager
def registry_lock(uri: str | None = None) -> Iterator[Path | None]:
    """Hold the exclusive lock of the store at ``uri`` (default: MLflow's current registry URI).

    Re-entrant within a process (a nested call for the same file does not lock again). Yields the lock
    file, or None where there is nothing to lock (a tracking server).
    """
    path = lock_path(uri if uri is not None else current_uri())
    if path is None:
        yield None
        return
    key = str(path.resolve())
    if _held.get(key, 0):
        _held[key] += 1
        try:
            yield path
        finally:
            _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _held[key] = 1
        try:
            yield path
        finally:
            _held[key] = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_held: dict[str, int] = {}
