"""Registry alias names (``champion``, ``challenger``, yours): checked where a user gives one (``rgd promote
--alias``, the gateway's ``registry.alias``) before anything reaches the registry. No MLflow import, so the
gateway's config can use it."""

from __future__ import annotations

import re

from rgd.errors import ParameterError

_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def check_alias_name(alias: str, where: str = "--alias") -> str:
    """``alias`` if the registry accepts it as an alias name (letters, digits, ``_``, ``-``; not ``latest`` nor
    ``v<number>``, which name versions), else :class:`ParameterError` naming ``where``: checked before any
    write, so a bad name never reaches the registry as a traceback."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise ParameterError(f"{where}: {alias!r} is not an alias name: use letters, digits, '_' and '-'")
    if _RESERVED_ALIAS.match(alias):
        raise ParameterError(f"{where}: {alias!r} is reserved by the registry for versions: choose another alias")
    return alias
