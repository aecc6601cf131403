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
