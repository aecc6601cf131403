"""ResponseTable saves and loads itself (JSON + NumPy), refuses corrupt or foreign files naming them, and
still loads a table stored by the format-1 code."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rgd.data.response_table import ResponseTable
from rgd.errors import ArtifactError
from tests.rgd.tracking.synthetic import synthetic_pool
from tests.rgd.workflow.conftest import STORED_V1


@pytest.fixture(scope="module")
def table() -> ResponseTable:
    _, t = synthetic_pool(n_per_subject=6, seed=2)
    choices = t.choices.copy()
    choices[0, :3] = -1  # some unanswered
    confidence = t.confidence.copy()
    confidence[1, :] = np.nan  # a model without confidences
    return ResponseTable(t.models, t.question_ids, t.subjects, t.n_options, choices, confidence, t.answers)


def assert_same(a: ResponseTable, b: ResponseTable) -> None:
    assert (a.models, a.question_ids) == (b.models, b.question_ids)
    for name in ("subjects", "n_options", "choices", "confidence", "answers"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


def test_round_trip(table, tmp_path):
    d = table.save(tmp_path / "t")
    assert sorted(p.name for p in d.iterdir()) == ["arrays.npz", "table.json"]
    assert_same(ResponseTable.load(d), table)


def test_format_1_table_still_loads():
    loaded = ResponseTable.load(STORED_V1 / "response_table")
    expected = json.loads((STORED_V1 / "expected.json").read_text())
    assert int(loaded.choices.sum()) == expected["table_choices_sum"] and loaded.n_models == 4


def test_corrupt_or_foreign_files_are_refused_naming_them(table, tmp_path):
    d = table.save(tmp_path / "t")
    doc = json.loads((d / "table.json").read_text())
    (d / "table.json").write_text(json.dumps({**doc, "version": 7}))
    with pytest.raises(ArtifactError, match=rf"{d / 'table.json'}: response table format version 7 is not supported"):
        ResponseTable.load(d)
    (d / "table.json").write_text(json.dumps({**doc, "question_ids": doc["question_ids"][:-1]}))
    with pytest.raises(ArtifactError, match=rf"{d / 'table.json'}: corrupt response table .*must be"):
        ResponseTable.load(d)
    (d / "table.json").write_text(json.dumps({k: v for k, v in doc.items() if k != "models"}))
    with pytest.raises(ArtifactError, match=r"corrupt response table \(KeyError"):
        ResponseTable.load(d)
    (d / "table.json").write_text(json.dumps(doc))
    (d / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match=rf"{d / 'arrays.npz'}: corrupt response table arrays"):
        ResponseTable.load(d)
    np.savez(d / "arrays.npz", choices=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError, match=r"arrays.npz: corrupt response table arrays"):
        ResponseTable.load(d)
    shutil.rmtree(d)
    with pytest.raises(ArtifactError, match=r"table.json: missing"):
        ResponseTable.load(d)
