"""Change a run config's pool: add a model, remove one, replace one by another (``rgd pool``).

The pool lives in ``pool.models`` (the training pipeline: real models, a recorded pool or a subset of the
simulated world's) or in ``recorded.models`` (the recorded pipeline). :func:`changed_pool` applies one change to
the pool's model names and refuses what cannot be (a model twice, one that is not there, a pool of one);
:func:`with_pool` puts the names back in a config (an added model of a real pool gets no parameters of its own:
it reads ``pool.params`` like the others), :func:`with_pool_in_file` in a config file's mapping.
"""

from __future__ import annotations

from typing import Any, Sequence

from pydantic import ValidationError

from rgd.config.run_config import PoolModelSpec, RunConfig
from rgd.errors import ParameterError

#: the changes ``rgd pool`` makes
ADD, REMOVE, REPLACE = "add", "remove", "replace"


def changed_pool(current: Sequence[str], action: str, names: Sequence[str]) -> list[str]:
    """``current`` with ``names`` added (at the end), removed, or (replace: ``[old, new]``) ``old`` replaced by
    ``new`` in its place."""
    pool = list(current)
    if action == ADD:
        there = [n for n in names if n in pool]
        if there:
            raise ParameterError(f"{', '.join(there)} already in the pool ({', '.join(pool)})")
        if len(set(names)) != len(names):
            raise ParameterError(f"a model is named twice: {list(names)}")
        out = pool + list(names)
    elif action == REMOVE:
        missing = [n for n in names if n not in pool]
        if missing:
            raise ParameterError(f"{', '.join(missing)} not in the pool ({', '.join(pool)})")
        out = [m for m in pool if m not in names]
    elif action == REPLACE:
        if len(names) != 2:
            raise ParameterError(f"replace takes the model to replace and its replacement, got {list(names)}")
        old, new = names
        if old not in pool:
            raise ParameterError(f"{old} not in the pool ({', '.join(pool)})")
        if new in pool:
            raise ParameterError(f"{new} already in the pool ({', '.join(pool)})")
        out = [new if m == old else m for m in pool]
    else:
        raise ParameterError(f"unknown pool change {action!r}: one of {ADD}, {REMOVE}, {REPLACE}")
    if len(out) < 2:
        raise ParameterError(f"the pool would be {out}: a router needs at least two models to choose between")
    return out


def with_pool(config: RunConfig, models: Sequence[str]) -> RunConfig:
    """``config`` with its pool set to ``models`` (validated again like a config read from a file)."""
    data = config.model_dump()
    if config.pipeline == "recorded":
        data["recorded"]["models"] = list(models)
    else:
        given = {m.name: m.model_dump() for m in config.pool.models}
        data["pool"]["models"] = [given.get(m, PoolModelSpec(name=m).model_dump()) for m in models]
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(f"the config with the pool {list(models)} is not valid: {exc}") from None


def with_pool_in_file(data: dict[str, Any], config: RunConfig, models: Sequence[str]) -> dict[str, Any]:
    """A config file's mapping (plain, or ZenML-shaped with the config under ``extra.rgd``) with its pool set to
    ``models``; every other key as it was."""
    data = dict(data)
    if "rgd" in (data.get("extra") or {}):
        extra = dict(data["extra"])
        extra["rgd"] = with_pool_in_file(extra["rgd"], config, models)
        data["extra"] = extra
        return data
    if config.pipeline == "recorded":
        data["recorded"] = {**data.get("recorded", {}), "models": list(models)}
        return data
    pool = dict(data.get("pool") or {})
    given = {(m if isinstance(m, str) else m.get("name")): m for m in pool.get("models") or []}
    pool["models"] = [given.get(m, m) for m in models]
    data["pool"] = pool
    return data
