"""Strict types for the free-form ``params`` of embedders, routers and backends.

The run config's own sections refuse bool-to-int and str-to-number coercion (pydantic strict mode), but a
``params`` dict goes straight to a constructor, where ``k: true`` is 1 and ``use_chat: "no"`` is truthy. This
checks each value against the constructor's annotation before it is called: a bool where a number is expected,
a string where a number or a bool is expected, a number where a bool or a string is expected, and a value a
``Literal`` does not list are refused with the parameter named. Annotations it cannot read (a class, a
sequence, ``Any``) are left to the constructor.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable, Literal, Mapping, Union

from rgd.errors import ParameterError

_SCALARS = (bool, int, float, str)


def _accepted(annotation: Any) -> tuple[set[type], tuple | None] | None:
    """(scalar types the annotation accepts, the values of a Literal or None); None when it is not about scalars."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return set(), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        kinds: set[type] = set()
        literal: tuple = ()
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            part = _accepted(arg)
            if part is None:
                return None
            kinds |= part[0]
            literal += part[1] or ()
        return kinds, literal or None
    if annotation in _SCALARS:
        return {annotation}, None
    return None


def _fits(value: Any, kinds: set[type], literal: tuple | None) -> bool:
    if literal is not None and value in literal and type(value) in {type(v) for v in literal}:
        return True
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int):
        return bool(kinds & {int, float})
    if isinstance(value, float):
        return float in kinds
    if isinstance(value, str):
        return str in kinds
    return False


def _type_name(kinds: set[type], literal: tuple | None) -> str:
    names = sorted(k.__name__ for k in kinds)
    if literal:
        names.append("one of " + ", ".join(repr(v) for v in literal))
    return " or ".join(names) or "a listed value"


def check_param_types(target: Callable[..., Any], params: Mapping[str, Any], what: str) -> None:
    """Raise :class:`ParameterError` naming ``what`` and the parameter when a value does not have the type
    ``target``'s signature gives it (``None`` passes where the annotation is optional or the default is None)."""
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
        signature = inspect.signature(target)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved is left to the constructor
        return
    for name, value in params.items():
        if name not in hints or name not in signature.parameters:
            continue
        accepted = _accepted(hints[name])
        if accepted is None:
            continue
        kinds, literal = accepted
        if value is None:
            optional = type(None) in typing.get_args(hints[name]) or signature.parameters[name].default is None
            if optional:
                continue
        elif not isinstance(value, _SCALARS):
            continue  # a list or a mapping for a scalar: the constructor says what it makes of it
        elif _fits(value, kinds, literal):
            continue
        raise ParameterError(f"{what}: {name} must be {_type_name(kinds, literal)}, "
                             f"got {value!r} ({type(value).__name__})")


__all__ = ["check_param_types"]
