"""Parameters of routers, embedders and backends: declared once, in the constructor's signature, checked here.

A parameter's annotation says what it may be: a scalar type (``int``, ``float``, ``bool``, ``str``), a
``Literal`` of the values it may take, or either wrapped in ``Annotated`` with a constraint on top (scikit-learn's
``_parameter_constraints``, written where the parameter is): :class:`Bounds` on a number (:data:`Count`,
:data:`Fraction`, :data:`Positive` are the common ones), :class:`AscendingPair`, :class:`NonEmpty`. Its default
is the signature's. :func:`check_params` (and :func:`init_params`, which also stores the values) is the one
check: each value against its annotation, a :class:`ParameterError` naming the class, the parameter, what it
may be and the value given.

The types are strict, as the run config's own sections are (a ``params`` dict goes straight to a
constructor, where ``k: true`` would be 1 and ``use_chat: "no"`` truthy): a bool where a number is expected, a
string where a number or a bool is expected, a number where a bool or a string is expected, and a value a
``Literal`` does not list are refused. Annotations it cannot read (a class, a sequence, ``Any``) are left to the
constructor, unless a constraint is put on them.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Mapping, Protocol, Union

from rgd.errors import ParameterError

_SCALARS = (bool, int, float, str)


class Constraint(Protocol):
    """What a value must be beyond its type; ``values`` are the other parameters (for bounds that name one)."""

    def allows(self, value: Any, values: Mapping[str, Any]) -> bool: ...

    def describe(self, kind: str, values: Mapping[str, Any]) -> str: ...


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Bounds:
    """A number from ``low`` to ``high`` (either may be None: unbounded), each included unless ``*_open``. A
    bound that is a string is the name of another parameter, whose value bounds this one (``k_max >= k_min``)."""

    low: float | str | None = None
    high: float | str | None = None
    low_open: bool = False
    high_open: bool = False

    def _ends(self, values: Mapping[str, Any]) -> tuple[Any, Any]:
        return tuple(values.get(end) if isinstance(end, str) else end for end in (self.low, self.high))

    def allows(self, value: Any, values: Mapping[str, Any]) -> bool:
        low, high = self._ends(values)
        if not _number(value):
            return False
        above = low is None or (value > low if self.low_open else value >= low)
        below = high is None or (value < high if self.high_open else value <= high)
        return above and below

    def describe(self, kind: str, values: Mapping[str, Any]) -> str:
        def end(bound: float | str | None, value: Any) -> str:
            return f"{bound} ({value!r})" if isinstance(bound, str) else repr(bound)

        low, high = self._ends(values)
        if self.low is not None and self.high is not None:
            return (f"{kind} in {'(' if self.low_open else '['}{end(self.low, low)}, "
                    f"{end(self.high, high)}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {end(self.low, low)}"
        return f"{kind} {'<' if self.high_open else '<='} {end(self.high, high)}"


@dataclass(frozen=True)
class AscendingPair:
    """Two ints ``(a, b)`` (a tuple or a list) with ``low <= a <= b``."""

    low: int = 1

    def allows(self, value: Any, values: Mapping[str, Any]) -> bool:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            return False
        a, b = value
        return all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value) and self.low <= a <= b

    def describe(self, kind: str, values: Mapping[str, Any]) -> str:
        return f"a pair (a, b) of ints with {self.low} <= a <= b"


@dataclass(frozen=True)
class NonEmpty:
    """A string with something besides white space."""

    def allows(self, value: Any, values: Mapping[str, Any]) -> bool:
        return isinstance(value, str) and bool(value.strip())

    def describe(self, kind: str, values: Mapping[str, Any]) -> str:
        return f"a non-empty {kind}"


#: an int >= 1 (a bool is not a count)
Count = Annotated[int, Bounds(low=1)]
#: a number in [0, 1]
Fraction = Annotated[float, Bounds(0, 1)]
#: a number > 0
Positive = Annotated[float, Bounds(0, low_open=True)]


@dataclass(frozen=True)
class Rule:
    """What one parameter may be, read from its annotation and default."""

    kinds: frozenset[type] | None  # the scalar types it accepts; None: not a scalar annotation (type unchecked)
    literal: tuple | None  # the values a Literal lists
    constraints: tuple[Constraint, ...]
    optional: bool  # None is allowed (the annotation says so, or the default is None)

    def kind(self) -> str:
        if self.kinds is None:
            return "a value"
        names = sorted(k.__name__ for k in self.kinds)
        if self.literal:
            names.append("one of " + ", ".join(repr(v) for v in self.literal))
        return " or ".join(names) or "a listed value"

    def problem(self, name: str, value: Any, values: Mapping[str, Any]) -> str | None:
        """None when ``value`` is allowed, else the sentence that says what ``name`` must be."""
        if value is None and self.optional:
            return None
        if value is None or (self.kinds is not None and isinstance(value, _SCALARS)
                             and not _fits(value, self.kinds, self.literal)):
            return f"{name} must be {self.kind()}, got {value!r} ({type(value).__name__})"
        for constraint in self.constraints:
            if not constraint.allows(value, values):
                or_none = " or None" if self.optional else ""
                return f"{name} must be {constraint.describe(self.kind(), values)}{or_none}, got {value!r}"
        return None


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


def _strip(annotation: Any) -> tuple[Any, tuple]:
    """(the annotation without ``Annotated``, the constraints it carried), also inside a Union's arms."""
    if typing.get_origin(annotation) is Annotated:
        inner, constraints = _strip(annotation.__origin__)
        return inner, constraints + tuple(m for m in annotation.__metadata__ if hasattr(m, "allows"))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        arms = [_strip(arg) for arg in typing.get_args(annotation)]
        return Union[tuple(arm for arm, _ in arms)], tuple(c for _, cs in arms for c in cs)
    return annotation, ()


def _fits(value: Any, kinds: frozenset[type], literal: tuple | None) -> bool:
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


@functools.cache
def declared(target: Callable[..., Any]) -> dict[str, Rule]:
    """The rule of each parameter of ``target`` (a class: its ``__init__``) whose annotation can be read; {} when
    the annotations cannot be resolved (left to the constructor)."""
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target, include_extras=True)
        signature = inspect.signature(target)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved is left to the constructor
        return {}
    rules = {}
    for name, parameter in signature.parameters.items():
        if name not in hints:
            continue
        annotation, constraints = _strip(hints[name])
        accepted = _accepted(annotation)
        if accepted is None and not constraints:
            continue
        optional = type(None) in typing.get_args(annotation) or parameter.default is None
        kinds = None if accepted is None else frozenset(accepted[0])
        rules[name] = Rule(kinds, None if accepted is None else accepted[1], constraints, optional)
    return rules


@functools.cache
def _defaults(target: Callable[..., Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not p.empty}


def check_param_types(target: Callable[..., Any], params: Mapping[str, Any], what: str) -> None:
    """Raise :class:`ParameterError` ``"<what>: <name> must be ..., got <value>"`` for the first value ``target``'s
    signature does not allow (its type, a Literal's values, the constraints of ``Annotated``); names the
    signature does not declare are left alone."""
    rules = declared(target)
    values = {**_defaults(target), **params}  # a bound that names a parameter not given reads its default
    for name, value in params.items():
        rule = rules.get(name)
        problem = None if rule is None else rule.problem(name, value, values)
        if problem is not None:
            raise ParameterError(f"{what}: {problem}")


def check_params(cls: type, values: Mapping[str, Any]) -> None:
    """The check of a class's parameters (``values``: its ``__init__``'s ``locals()``, or some of them), the
    error naming the class."""
    check_param_types(cls, values, cls.__name__)


def init_parameters(cls: type) -> list[inspect.Parameter]:
    """The constructor's parameters, in signature order (none for a class without its own ``__init__``)."""
    if cls.__init__ is object.__init__:
        return []
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{cls.__name__}.__init__ must name its parameters (no *args / **kwargs)")
        out.append(p)
    return out


def read_params(obj: object) -> dict[str, Any]:
    """The constructor parameters of ``obj``, read back from the attributes of the same names."""
    return {p.name: getattr(obj, p.name) for p in init_parameters(type(obj))}


def init_params(obj: object, values: Mapping[str, Any]) -> None:
    """What an ``__init__`` does with its parameters (``values``: its ``locals()``): check them all
    (:func:`check_params`), then store each one unchanged under its own name (scikit-learn's convention)."""
    params = {p.name: values[p.name] for p in init_parameters(type(obj))}
    check_params(type(obj), params)
    for name, value in params.items():
        setattr(obj, name, value)


__all__ = ["AscendingPair", "Bounds", "Constraint", "Count", "Fraction", "NonEmpty", "Positive", "Rule",
           "check_param_types", "check_params", "declared", "init_parameters", "init_params",
           "read_params"]
