"""Every router and embedder declares each constructor parameter once, in its signature, and the one check
(:mod:`rgd.params`) refuses a bad value of each with a ParameterError naming the class and the parameter.

The bad values are derived from the declarations, so a new parameter, or a new kind of constraint, is tested
without adding it here (an unknown constraint fails until this file knows a value that breaks it)."""

from __future__ import annotations

from typing import Any

import pytest

from rgd.embedding.registry import EMBEDDER_KINDS
from rgd.errors import ParameterError
from rgd.params import AscendingPair, Bounds, NonEmpty, Rule, check_params, declared, init_parameters, read_params
from rgd.routers.registry import ROUTERS

CLASSES = sorted({*ROUTERS.values(), *EMBEDDER_KINDS.values()}, key=lambda cls: cls.__name__)


def _defaults(cls: type) -> dict[str, Any]:
    return {p.name: p.default for p in init_parameters(cls)}


def _breaking(constraint: Any, defaults: dict[str, Any]) -> list[Any]:
    """Values ``constraint`` refuses, whatever the other parameters are (they keep their defaults)."""
    if isinstance(constraint, Bounds):
        def end(bound: float | str) -> Any:
            return defaults[bound] if isinstance(bound, str) else bound

        out = []
        if constraint.low is not None:
            out.append(end(constraint.low) if constraint.low_open else end(constraint.low) - 1)
        if constraint.high is not None:
            out.append(end(constraint.high) if constraint.high_open else end(constraint.high) + 1)
        return out
    if isinstance(constraint, AscendingPair):
        return [(constraint.low + 1, constraint.low), (constraint.low - 1, constraint.low), (constraint.low,)]
    if isinstance(constraint, NonEmpty):
        return ["", "  "]
    pytest.fail(f"no value known that breaks {constraint!r}: add one to _breaking")


def _bad_values(rule: Rule, defaults: dict[str, Any]) -> list[Any]:
    out: list[Any] = [] if rule.optional else [None]
    if rule.literal:
        out.append("-".join(map(str, rule.literal)))  # a string no Literal lists
    if rule.kinds is not None:  # a value of a type the annotation does not accept
        out.append(next(v for v in (1, "1", 1.5, True) if not _accepts(rule, v)))
    for constraint in rule.constraints:
        out.extend(_breaking(constraint, defaults))
    return out


def _accepts(rule: Rule, value: Any) -> bool:
    return rule.problem("x", value, {}) is None


CASES = [pytest.param(cls, name, bad, id=f"{cls.__name__}.{name}={bad!r}")
         for cls in CLASSES for name, rule in declared(cls).items() for bad in _bad_values(rule, _defaults(cls))]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_constructor_parameter_is_declared_and_its_default_allowed(cls):
    names = [p.name for p in init_parameters(cls)]
    assert list(declared(cls)) == names, f"{cls.__name__}: parameters without a readable declaration"
    assert read_params(cls()) == _defaults(cls)  # the defaults pass the check and are stored unchanged
    check_params(cls, _defaults(cls))


@pytest.mark.parametrize("cls, name, bad", CASES)
def test_a_bad_value_of_each_parameter_is_refused_by_name(cls, name, bad):
    with pytest.raises(ParameterError, match=rf"^{cls.__name__}: {name} must be .*, got "):
        cls(**{name: bad})


def test_the_cases_reach_every_declared_parameter():
    reached = {(cls, name) for cls, name, _ in (case.values for case in CASES)}
    assert reached == {(cls, name) for cls in CLASSES for name in declared(cls)}


def test_the_message_says_the_range_and_the_value():
    from rgd.routers.cascal import CascalRouter

    with pytest.raises(ParameterError, match=r"^CascalRouter: k_max must be int >= k_min \(4\), got 3$"):
        CascalRouter(k_min=4, k_max=3)
    with pytest.raises(ParameterError, match=r"^CascalRouter: min_agreement must be float in \[0, 1\], got 1.5$"):
        CascalRouter(min_agreement=1.5)
    with pytest.raises(ParameterError, match=r"^CascalRouter: distance_temperature must be float > 0, got 0$"):
        CascalRouter(distance_temperature=0)
    assert Bounds(0, 1, high_open=True).describe("float", {}) == "float in [0, 1)"
    assert CascalRouter(k_min=5, k_max=5).k_max == 5
