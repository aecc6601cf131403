"""The router as an MLflow pyfunc model: question text in, ranked pool models out.

The logged model ships no code: its MLmodel names this installed module as the pyfunc ``loader_module``,
and the model's only data is the :class:`~rgd.routers.bundle.RouterBundle` (JSON + NumPy, sha256 manifest).
MLflow calls :func:`_load_pyfunc`, which verifies the bundle before loading it (a tampered bundle raises
ArtifactError and the model does not load). ``predict`` takes a DataFrame with a ``question`` column (or a
list of strings, or one string) and an optional ``k`` param, and returns a DataFrame with ``models`` (JSON
list of the top-k names), ``scores`` (JSON list), ``top1`` and ``subject`` (the router's inferred subject,
"" when the router has none).
"""

from __future__ import annotations

import json
from typing import Any

from rgd.errors import ParameterError

BUNDLE_ARTIFACT = "bundle"
QUESTION_COLUMN = "question"
DEFAULT_K = 3
OUTPUT_COLUMNS = ("models", "scores", "top1", "subject")


def questions_from(model_input: Any) -> list[str]:
    """Question texts from a DataFrame (``question`` column, else its only column), a list or a string."""
    import pandas as pd

    if isinstance(model_input, str):
        return [model_input]
    if isinstance(model_input, pd.Series):
        return [str(x) for x in model_input.tolist()]
    if isinstance(model_input, pd.DataFrame):
        if QUESTION_COLUMN in model_input.columns:
            col = model_input[QUESTION_COLUMN]
        elif model_input.shape[1] == 1:
            col = model_input.iloc[:, 0]
        else:
            raise ParameterError(
                f"input needs a {QUESTION_COLUMN!r} column, got columns {list(model_input.columns)}"
            )
        return [str(x) for x in col.tolist()]
    if isinstance(model_input, dict) and QUESTION_COLUMN in model_input:
        value = model_input[QUESTION_COLUMN]
        return [value] if isinstance(value, str) else [str(x) for x in value]
    if isinstance(model_input, (list, tuple)):
        out = []
        for item in model_input:
            if isinstance(item, dict) and QUESTION_COLUMN in item:
                out.append(str(item[QUESTION_COLUMN]))
            elif isinstance(item, str):
                out.append(item)
            else:
                raise ParameterError(f"cannot read a question from {type(item).__name__} {item!r}")
        return out
    raise ParameterError(f"unsupported input type {type(model_input).__name__}; send a {QUESTION_COLUMN!r} column")


def routes_to_frame(routes: list[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame(
        {
            "models": [json.dumps(r["models"]) for r in routes],
            "scores": [json.dumps([round(s, 6) for s in r["scores"]]) for r in routes],
            "top1": [r["models"][0] if r["models"] else "" for r in routes],
            "subject": [r["subject"] or "" for r in routes],
        },
        columns=list(OUTPUT_COLUMNS),
    )


class RouterModel:
    """Serves a verified RouterBundle (what MLflow's pyfunc wrapper calls ``predict`` on)."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle

    def predict(self, model_input: Any, params: dict[str, Any] | None = None):
        k = int((params or {}).get("k", DEFAULT_K))
        if k < 1:
            raise ParameterError(f"k must be at least 1, got {k}")
        return routes_to_frame(self.bundle.route(questions_from(model_input), k=k))


def _load_pyfunc(data_path: str) -> RouterModel:
    """MLflow's entry point (``loader_module``): the bundle at ``data_path``, verified, as a served model."""
    from rgd.routers.bundle import RouterBundle

    return RouterModel(RouterBundle.load(data_path))
