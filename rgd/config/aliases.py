"""The registry's names, each typed once: the default registered model, the experiment, and the aliases the
promotion gate moves (``champion``, ``challenger``); and alias names (those, or yours), checked where a user
gives one (``rgd promote --alias``, the gateway's ``registry.alias``) before anything reaches the registry.
No MLflow import, so the run config, the gateway's config and the command line can use it."""

from __future__ import annotations

import re

from rgd.errors import ParameterError

#: the registered model a run registers to, the gateway serves and the commands read, unless told otherwise
DEFAULT_MODEL_NAME = "rgd-router"
#: the MLflow experiment a run logs to by default
DEFAULT_EXPERIMENT = "rgd"
#: the alias of the version that serves (the promotion gate moves it)
CHAMPION = "champion"
#: the alias every complete version gets when it is registered, until it becomes the champion
CHALLENGER = "challenger"

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
