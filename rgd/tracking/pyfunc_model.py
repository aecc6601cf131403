"""The router as an MLflow pyfunc model: question text in, ranked pool models out.

The logged model ships no code: its MLmodel names this installed module as the pyfunc ``loader_module``,
and the model's only data is the :class:`~rgd.routers.bundle.RouterBundle` (JSON + NumPy, sha256 manifest).
MLflow calls :func:`_load_pyfunc`, which verifies the bundle before loading it (a tampered bundle raises
ArtifactError and the model does not load). ``predict`` takes a DataFrame with a ``question`` column (or a
list of strings, or one string) and an optional ``k`` param, and returns a DataFrame with ``models`` (JSON
list of the top-k names), ``scores`` (JSON list), ``top1``, ``subject`` (the router's inferred subject,
"" when the router has none), ``warning`` ("" or why the ranking says nothing about the question),
``out_of_distribution`` (whether the question is far from every training question:
:meth:`RouterBundle.out_of_distribution`; never for a bundle without coverage), ``training_similarity``
(its similarity to the nearest training question; NaN without coverage) and ``note`` ("" or the
out-of-distribution note).

``cost_weight`` (param, default 0): the knob of :class:`rgd.routers.policy.CostPolicy`, in [0, 1]; 0 is the
router's own quality-only ranking, above 0 the pool is ranked by ``(1 - w) * P(right) - w * relative cost``
with the bundle's policy (``scores`` are then the estimated probabilities of being right). A bundle registered
without costs accepts only 0. The ranking is :meth:`RouterBundle.route`'s (:meth:`RouterBundle.rank`).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from rgd.errors import ParameterError

BUNDLE_ARTIFACT = "bundle"
QUESTION_COLUMN = "question"
DEFAULT_K = 3
DEFAULT_COST_WEIGHT = 0.0
OUTPUT_COLUMNS = ("models", "scores", "top1", "subject", "warning", "out_of_distribution", "training_similarity",
                  "note")


def _question(value: Any, row: int) -> str:
    """One question text; a null, a number or an empty text is refused naming its row (never routed as "None")."""
    if not isinstance(value, str):
        raise ParameterError(f"row {row}: a question must be a text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ParameterError(f"row {row}: the question is empty")
    return value


def questions_from(model_input: Any) -> list[str]:
    """Question texts from a DataFrame (``question`` column, else its only column), a list or a string."""
    import pandas as pd

    if isinstance(model_input, str):
        return [_question(model_input, 0)]
    if isinstance(model_input, pd.Series):
        return [_question(x, i) for i, x in enumerate(model_input.tolist())]
    if isinstance(model_input, pd.DataFrame):
        if QUESTION_COLUMN in model_input.columns:
            col = model_input[QUESTION_COLUMN]
        elif model_input.shape[1] == 1:
            col = model_input.iloc[:, 0]
        else:
            raise ParameterError(
                f"input needs a {QUESTION_COLUMN!r} column, got columns {list(model_input.columns)}"
            )
        return [_question(x, i) for i, x in enumerate(col.tolist())]
    if isinstance(model_input, dict) and QUESTION_COLUMN in model_input:
        value = model_input[QUESTION_COLUMN]
        values = [value] if isinstance(value, str) else list(value)
        return [_question(x, i) for i, x in enumerate(values)]
    if isinstance(model_input, (list, tuple)):
        out = []
        for i, item in enumerate(model_input):
            if isinstance(item, dict) and QUESTION_COLUMN in item:
                out.append(_question(item[QUESTION_COLUMN], i))
            elif isinstance(item, str):
                out.append(_question(item, i))
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
            "warning": [r.get("warning") or "" for r in routes],
            "out_of_distribution": [bool(r.get("out_of_distribution")) for r in routes],
            "training_similarity": [float("nan") if r.get("training_similarity") is None else
                                    round(r["training_similarity"], 6) for r in routes],
            "note": [r.get("note") or "" for r in routes],
        },
        columns=list(OUTPUT_COLUMNS),
    )


def invalid_input(message: str, kind: type[ParameterError] = ParameterError) -> ParameterError:
    """A bad request to the served model, as both the library's ``kind`` of ParameterError (``rgd route`` prints
    it in one line; a refused cost weight stays a CostWeightError) and MLflow's INVALID_PARAMETER_VALUE
    (``mlflow models serve`` answers 400 with this message, not its generic "unexpected error" and a stack
    trace)."""
    return _invalid_input_class(kind)(message)


@functools.cache
def _invalid_input_class(kind: type[ParameterError]) -> type:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    class InvalidRouterInput(kind, MlflowException):
        def __init__(self, text: str) -> None:
            MlflowException.__init__(self, text, error_code=INVALID_PARAMETER_VALUE)

        def __str__(self) -> str:
            return self.message

    return InvalidRouterInput


class RouterModel:
    """Serves a verified RouterBundle (what MLflow's pyfunc wrapper calls ``predict`` on)."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle

    def predict(self, model_input: Any, params: dict[str, Any] | None = None):
        try:
            return self._predict(model_input, params)
        except ParameterError as exc:
            raise invalid_input(str(exc), type(exc)) from None

    def _predict(self, model_input: Any, params: dict[str, Any] | None):
        from rgd.routers.policy import check_cost_weight

        params = params or {}
        k = int(params.get("k", DEFAULT_K))
        if k < 1:
            raise ParameterError(f"k must be at least 1, got {k}")
        w = check_cost_weight(params.get("cost_weight", DEFAULT_COST_WEIGHT))
        texts = questions_from(model_input)
        return routes_to_frame(self.bundle.route(texts, k=k, cost_weight=w))


def _load_pyfunc(data_path: str) -> RouterModel:
    """MLflow's entry point (``loader_module``): the bundle at ``data_path``, verified, as a served model."""
    from rgd.routers.bundle import RouterBundle

    return RouterModel(RouterBundle.load(data_path))
