"""What the served model accepts as questions: texts only; nulls, numbers and empty texts are named errors."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd.errors import ParameterError
from rgd.tracking.pyfunc_model import questions_from


def test_texts_are_read_from_every_input_shape():
    assert questions_from("q") == ["q"]
    assert questions_from(pd.DataFrame({"question": ["a", "b"]})) == ["a", "b"]
    assert questions_from(pd.DataFrame({"other": ["a"]})) == ["a"]
    assert questions_from({"question": ["a", "b"]}) == ["a", "b"]
    assert questions_from([{"question": "a"}, "b"]) == ["a", "b"]


@pytest.mark.parametrize("bad, row", [
    (pd.DataFrame({"question": ["ok", None]}), 1),
    (pd.DataFrame({"question": [3]}), 0),
    ({"question": ["ok", "  "]}, 1),
    ([{"question": None}], 0),
    ("", 0),
])
def test_null_numeric_and_empty_questions_are_refused_by_row(bad, row):
    with pytest.raises(ParameterError, match=f"row {row}"):
        questions_from(bad)


@pytest.mark.parametrize("model_input, params, message", [
    (["which enzyme?"], {"k": 0}, "k must be at least 1, got 0"),
    ({"question": [None]}, {}, "row 0: a question must be a text"),
    (["which enzyme?"], {"cost_weight": 2.0}, r"cost_weight must be in \[0, 1\]"),
])
def test_a_bad_request_is_the_libraries_error_and_mlflows_invalid_parameter(model_input, params, message):
    from mlflow.exceptions import MlflowException

    from rgd.tracking.pyfunc_model import RouterModel
    from tests.rgd.tracking.synthetic import fit_bundle

    with pytest.raises(ParameterError, match=message) as caught:
        RouterModel(fit_bundle("cascal")).predict(model_input, params)
    # `rgd route` catches the library's error; `mlflow models serve` answers 400 with the message, no stack trace
    assert isinstance(caught.value, MlflowException)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE" and caught.value.get_http_status_code() == 400
    assert str(caught.value) == caught.value.message and "Traceback" not in caught.value.serialize_as_json()
