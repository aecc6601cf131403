"""Generator keys from a responses-format file: what is read, and the errors that name file and row."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rgd.data.keys import NO_KEY, load_generator_keys
from rgd.errors import DataError

IDS = ("1", "2", "3")
N_OPTIONS = np.array([4, 4, 2])


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_keys_are_read_in_question_order_with_null_as_no_key(tmp_path):
    path = _write(tmp_path / "g.jsonl", [{"question_id": 3, "pred": "B"}, {"question_id": 1, "pred": "c"},
                                          {"question_id": 2, "pred": None}, {"question_id": 9, "pred": "A"}])
    keys = load_generator_keys(path, IDS, N_OPTIONS, known_ids=IDS + ("9",))
    assert keys.tolist() == [2, NO_KEY, 1]


@pytest.mark.parametrize("rows, message", [
    ([{"question_id": 9, "pred": "A"}], "no row for any of the 3 training questions"),
    ([{"question_id": 1, "pred": "A"}, {"question_id": 2, "pred": "A"}, {"question_id": 3, "pred": "AB"}],
     "not an option letter"),
    ([{"question_id": 1, "pred": "A"}, {"question_id": 77, "pred": "A"}], "unknown question_id '77'"),
    ([{"question_id": 1, "pred": "A"}, {"question_id": 1, "pred": "B"}], "second key"),
    ([{"pred": "A"}], "missing field 'question_id'"),
])
def test_bad_keys_files_are_clear_errors(tmp_path, rows, message):
    path = _write(tmp_path / "g.jsonl", rows)
    with pytest.raises(DataError, match=message) as err:
        load_generator_keys(path, IDS, N_OPTIONS, known_ids=IDS + ("9",))
    assert str(path) in str(err.value)


def test_a_missing_row_is_a_question_without_a_key(tmp_path, caplog):
    path = _write(tmp_path / "g.jsonl", [{"question_id": 1, "pred": "A"}, {"question_id": 3, "pred": "B"}])
    keys = load_generator_keys(path, IDS, N_OPTIONS, known_ids=IDS)
    assert keys.tolist() == [0, NO_KEY, 1]
    assert "no key row for 1 of 3" in caplog.text


def test_a_letter_beyond_the_options_is_no_key_and_named(tmp_path, caplog):
    path = _write(tmp_path / "g.jsonl", [{"question_id": 1, "pred": "A"}, {"question_id": 2, "pred": "D"},
                                          {"question_id": 3, "pred": "C"}])
    keys = load_generator_keys(path, IDS, N_OPTIONS, known_ids=IDS)
    assert keys.tolist() == [0, 3, NO_KEY]
    assert "1 keys name an option their question does not have (rows [3])" in caplog.text


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such keys file"):
        load_generator_keys(tmp_path / "nope.jsonl", IDS, N_OPTIONS, known_ids=IDS)
