"""What each pool model costs: read, checked and normalised once for every place that routes by cost.

A cost is one non-negative number per model in any unit (a price per token where the user has one, a
parameter count otherwise); only ratios matter, since the routing policy (:mod:`rgd.routers.policy`) uses
costs divided by the dearest pool model's. Two file shapes are read (JSON):

* a plain map ``{"model": cost, ...}``;
* the ``models.json`` shape of a recorded data set, ``{"model": {"active_params_b": 70.6,
  "total_params_b": 70.6}, ...}``: the *active* parameter count (what a token costs to compute), else a
  ``"cost"`` field. Keys starting with ``_`` (``"_about"``) are comments.

Entries for models outside the pool are ignored (a ``null`` among them too); a pool model without a cost,
a negative, non-finite or non-numeric cost (``true`` is not a number) is a :class:`~rgd.errors.DataError` or
:class:`~rgd.errors.ParameterError` naming the model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rgd.errors import DataError, ParameterError

#: fields of a per-model object read as its cost, first present wins
COST_FIELDS = ("active_params_b", "cost")


def _number(model: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where}the cost of {model!r} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ParameterError(f"{where}the cost of {model!r} must be a finite number >= 0, got {value!r}")
    return value


def _entry_cost(model: str, entry: Any, where: str) -> Any:
    """The raw cost of one entry (a number, or an object with one of :data:`COST_FIELDS`)."""
    if isinstance(entry, Mapping):
        for key in COST_FIELDS:
            if key in entry:
                return entry[key]
        raise ParameterError(f"{where}the entry of {model!r} has no cost (expected one of {list(COST_FIELDS)}, "
                             f"got fields {sorted(entry)})")
    return entry


def check_costs(costs: Mapping[str, Any], models: Sequence[str], where: str = "") -> dict[str, float]:
    """The cost of every pool model, in pool order, validated (see module doc); ``where`` prefixes errors."""
    if not isinstance(costs, Mapping):
        raise ParameterError(f"{where}costs must be a mapping of model name to cost, got {type(costs).__name__}")
    missing = [m for m in models if m not in costs]
    if missing:
        raise ParameterError(f"{where}no cost for pool model(s) {missing}; every pool model needs one "
                             f"(costs are given for {sorted(k for k in costs if not str(k).startswith('_'))})")
    return {m: _number(m, _entry_cost(m, costs[m], where), where) for m in models}


def load_costs(source: str | Path | Mapping[str, Any], models: Sequence[str]) -> dict[str, float]:
    """Costs of the pool ``models`` from a JSON file (either shape) or an in-memory mapping."""
    if isinstance(source, Mapping):
        return check_costs(source, models)
    path = Path(source)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("no such costs file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the costs file ({exc})", path=path) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON ({exc.msg}, line {exc.lineno})", path=path) from None
    if not isinstance(doc, dict):
        raise DataError("a costs file is a JSON object {model: cost} or {model: {active_params_b: ...}}", path=path)
    try:
        return check_costs(doc, models)
    except ParameterError as exc:
        raise DataError(str(exc), path=path) from None


def cost_vector(costs: Mapping[str, float], models: Sequence[str]) -> np.ndarray:
    """(M,) float64 costs in pool order (validated)."""
    checked = check_costs(costs, models)
    return np.array([checked[m] for m in models], dtype=np.float64)


def normalised(costs: np.ndarray) -> np.ndarray:
    """Costs divided by the dearest model's (in [0, 1]); all zeros when every model is free."""
    costs = np.asarray(costs, dtype=np.float64)
    top = float(costs.max()) if costs.size else 0.0
    return costs / top if top > 0 else np.zeros_like(costs)
