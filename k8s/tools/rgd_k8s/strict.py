"""Unknown-field detection for ZenML's pydantic config models (``extra="forbid"`` semantics).

ZenML 0.98 ignores unknown keys in run configurations (``extra="ignore"``) and keeps them on settings
(``extra="allow"``) only to drop them with a log line, so a misspelled field silently does nothing.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Iterator

from pydantic import BaseModel


def _model_types(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """Pydantic models inside an annotation, with how they are nested: "" (direct), "dict" or "list"."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "", annotation
    elif origin in (typing.Union, types.UnionType) or str(origin) == "typing.Annotated":
        for arg in args:
            yield from _model_types(arg)
    elif origin is typing.Annotated:
        yield from _model_types(args[0])
    elif origin in (dict, typing.Dict, typing.Mapping) or (origin and getattr(origin, "__name__", "") == "Mapping"):
        if len(args) == 2:
            for how, model in _model_types(args[1]):
                if how == "":
                    yield "dict", model
    elif origin in (list, typing.List, tuple, typing.Sequence):
        if args:
            for how, model in _model_types(args[0]):
                if how == "":
                    yield "list", model


def field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    names.update(f.alias for f in model.model_fields.values() if f.alias)
    return names


def suggestion(key: str, candidates: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_fields(
    model: type[BaseModel], data: Any, path: tuple[str, ...] = (), skip: frozenset[str] = frozenset()
) -> list[tuple[tuple[str, ...], str]]:
    """``(path, message)`` for every key of ``data`` that ``model`` (recursively) does not define.

    ``skip`` names fields whose values the caller checks itself (e.g. ``settings``).
    """
    if not isinstance(data, dict):
        return []
    known = field_names(model)
    problems: list[tuple[tuple[str, ...], str]] = []
    for key, value in data.items():
        if key not in known:
            problems.append(
                (path + (str(key),), f"unknown field {key!r} for {model.__name__}{suggestion(key, known)}")
            )
            continue
        if key in skip or value is None:
            continue
        field = model.model_fields.get(key)
        if field is None:
            continue
        for how, inner in _model_types(field.annotation):
            if how == "" and isinstance(value, dict):
                problems += unknown_fields(inner, value, path + (str(key),))
            elif how == "dict" and isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    problems += unknown_fields(inner, sub_value, path + (str(key), str(sub_key)))
            elif how == "list" and isinstance(value, list):
                for index, item in enumerate(value):
                    problems += unknown_fields(inner, item, path + (str(key), str(index)))
            break
    return problems
