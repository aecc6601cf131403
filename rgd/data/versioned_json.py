"""Reading and writing the files this library stores its artifacts in (routers, embedders, tables...).

Every artifact is a directory of JSON documents and NumPy ``.npy`` / ``.npz`` files, never pickle. Its JSON
document carries a ``format`` name and a format version; anything missing, unreadable, of another format or
of a version this library does not read is refused with :class:`rgd.errors.ArtifactError` naming the file,
never half-loaded. NumPy files are read with ``allow_pickle=False``, so an object array is refused too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Collection, Mapping

import numpy as np

from rgd.errors import ArtifactError


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
    """Write ``{"format": fmt, version_key: version, **doc}`` to ``path``; ``dump`` goes to ``json.dumps``."""
    path = Path(path)
    body = json.dumps({"format": fmt, version_key: version, **doc}, **({"indent": 1} | dump))
    path.write_text(body + "\n", encoding="utf-8")
    return path


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
