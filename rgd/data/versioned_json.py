"""Reading and writing the files this library stores its artifacts in (routers, embedders, tables...).

Every artifact is a directory of JSON documents and NumPy ``.npy`` / ``.npz`` files, never pickle. Its JSON
document carries a ``format`` name and a format version; anything missing, unreadable, of another format or
of a version this library does not read is refused with :class:`rgd.errors.ArtifactError` naming the file,
never half-loaded. NumPy files are read with ``allow_pickle=False``, so an object array is refused too.

Files are written through :func:`atomic_file`: into a temporary file beside the target, moved into place
with ``os.replace`` once complete. A write that fails (the disk full, no permission) leaves no half-written
file, whatever was there before stays, and the error is a :class:`rgd.errors.WriteError` naming the file and
the cause.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Collection, Iterator, Mapping

import numpy as np

from rgd.errors import ArtifactError, WriteError


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb", **open_args: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` (``open(tmp, mode, **open_args)``) for the ``with`` block to write;
    when the block ends, it is flushed to disk and moved onto ``path``. When writing fails (an ``OSError``
    of this file: disk full, no permission, a read-only file system), the temporary file is removed and a
    :class:`~rgd.errors.WriteError` naming ``path`` and the cause is raised; any other exception, from the
    block, removes it too and goes through unchanged."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, mode, **open_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())  # a full disk may only say so here (delayed allocation, network file systems)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, WriteError) and exc.filename in (None, str(tmp)):
            raise WriteError.of(path, exc) from None
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_file`."""
    with atomic_file(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def read_versioned_json(
    path: str | Path, fmt: str, version: int | Collection[int], *, what: str, version_key: str = "version"
) -> dict[str, Any]:
    """The document at ``path`` if its ``format`` is ``fmt`` and its ``version_key`` is ``version`` (or, given
    several, one of them)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing, no saved {what} here") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: unreadable {path.name}, the saved {what} ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ArtifactError(f"{path}: not an rgd {what} (format {found!r}, expected {fmt!r})")
    readable = (version,) if isinstance(version, int) else tuple(version)
    if doc.get(version_key) not in readable:
        reads = f"version {readable[0]}" if len(readable) == 1 else f"versions {', '.join(map(str, readable))}"
        raise ArtifactError(
            f"{path}: {what} format version {doc.get(version_key)!r} is not supported (this library reads {reads})"
        )
    return doc


def write_versioned_json(
    path: str | Path, fmt: str, version: int, doc: Mapping[str, Any], *, version_key: str = "version", **dump: Any
) -> Path:
    """Write ``{"format": fmt, version_key: version, **doc}`` to ``path`` (:func:`atomic_file`); ``dump`` goes to
    ``json.dumps``."""
    path = Path(path)
    body = json.dumps({"format": fmt, version_key: version, **doc}, **({"indent": 1} | dump))
    return write_text_atomic(path, body + "\n")


def read_npz(path: str | Path, *, what: str, required: Collection[str] = ()) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path`` (no pickles); ArtifactError naming the file when it is missing,
    unreadable or lacks one of ``required``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing, the saved {what} is incomplete") from None
    except Exception as exc:  # noqa: BLE001 - zip, format and pickle errors all mean a corrupt file
        raise ArtifactError(f"{path}: corrupt {what} arrays ({type(exc).__name__}: {exc})") from None
    missing = sorted(set(required) - set(arrays))
    if missing:
        raise ArtifactError(f"{path}: the saved {what} lacks arrays {missing}")
    return arrays


def read_npy(path: str | Path, *, what: str) -> np.ndarray:
    """The array in the ``.npy`` at ``path`` (no pickles); ArtifactError naming the file otherwise."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing, the saved {what} is incomplete") from None
    except Exception as exc:  # noqa: BLE001
        raise ArtifactError(f"{path}: corrupt {what} array ({type(exc).__name__}: {exc})") from None
