"""Reading the JSON documents this library writes next to its artifacts (routers, embedders, tables...).

Each carries a ``format`` name and a format version; anything missing, unreadable, of another format or of a
version this library does not read is refused with :class:`rgd.errors.ArtifactError`, never half-loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rgd.errors import ArtifactError


def read_versioned_json(
    path: str | Path, fmt: str, version: int, *, what: str, version_key: str = "version"
) -> dict[str, Any]:
    """The document at ``path`` if its ``format`` is ``fmt`` and its ``version_key`` is ``version``."""
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
    if doc.get(version_key) != version:
        raise ArtifactError(
            f"{path}: {what} format version {doc.get(version_key)!r} is not supported "
            f"(this library reads version {version})"
        )
    return doc
