"""The router as an MLflow pyfunc model: question text in, ranked pool models out.

``load_context`` verifies and loads the :class:`~rgd.routers.bundle.RouterBundle` shipped as the model's
``bundle`` artifact (a tampered bundle raises ArtifactError and the model does not load). ``predict`` takes
a DataFrame with a ``question`` column (or a list of strings, or one string) and an optional ``k`` param,
and returns a DataFrame with ``models`` (JSON list of the top-k names), ``scores`` (JSON list), ``top1``
and ``subject`` (the router's inferred subject, "" when the router has none).

This module imports mlflow; it is loaded by MLflow (through ``pyfunc_entry.py``), not by the core package.
"""

from __future__ import annotations

from rgd.errors import ParameterError

import json
from typing import Any

import mlflow.pyfunc
import pandas as pd

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


class RouterPyfunc(mlflow.pyfunc.PythonModel):
    """Serves a RouterBundle; holds nothing until ``load_context``."""

    def __init__(self) -> None:
        self.bundle = None

    def load_context(self, context) -> None:
        from rgd.routers.bundle import RouterBundle

        self.bundle = RouterBundle.load(context.artifacts[BUNDLE_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        # a DataFrame hint: MLflow validates against the logged signature, not against type hints
        if self.bundle is None:
            raise RuntimeError("router model used before load_context")
        k = int((params or {}).get("k", DEFAULT_K))
        return routes_to_frame(self.bundle.route(questions_from(model_input), k=k))
