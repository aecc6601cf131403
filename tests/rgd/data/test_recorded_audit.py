"""Recorded packs that used to be accepted silently or failed with a misleading error (issue 13, class 14):
two files for one model, a stray backup file, a one-model pool, a missing category, a null question_id."""

from __future__ import annotations

import gzip
import json
import logging
import shutil

import pytest

from rgd.data.recorded import directory_fingerprint, load_recorded
from rgd.errors import DataError
from tests.rgd.conftest import synthetic_pool, write_recorded


@pytest.fixture
def pack(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    return write_recorded(tmp_path / "p", rows, preds), rows, preds


def test_two_files_for_one_model_is_an_error(pack):
    d, rows, _ = pack
    (d / "responses" / "expert-music.jsonl").write_text(
        "".join(json.dumps({"question_id": r["question_id"], "pred": "B"}) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"expert-music.*expert-music\.jsonl and expert-music\.jsonl\.gz"):
        load_recorded(d)


def test_stray_backup_file_is_ignored_with_a_warning(pack, caplog):
    d, *_ = pack
    shutil.copy(d / "responses" / "expert-music.jsonl.gz", d / "responses" / "expert-music.jsonl.gz~")
    (d / "responses" / "notes.txt").write_text("not a responses file")
    with caplog.at_level(logging.WARNING, logger="rgd.data.recorded"):
        data = load_recorded(d)
    assert sorted(data.table.models) == ["expert-astronomy", "expert-cooking", "expert-music", "expert-sailing"]
    assert "expert-music.jsonl.gz~" in caplog.text and "notes.txt" in caplog.text


def test_one_model_pool_is_refused(pack):
    d, *_ = pack
    with pytest.raises(DataError, match=r"at least two models.*found 1 \(expert-music\)"):
        load_recorded(d, models=["expert-music"])
    for p in sorted((d / "responses").iterdir())[1:]:
        p.unlink()
    with pytest.raises(DataError, match=r"responses: a pool needs at least two models.*found 1"):
        load_recorded(d)


def _rewrite_questions(d, rows):
    with gzip.open(d / "questions.jsonl.gz", "wt") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))


def test_missing_category_is_refused_with_file_and_row(pack):
    d, rows, _ = pack
    del rows[3]["category"]
    _rewrite_questions(d, rows)
    with pytest.raises(DataError, match=r"questions\.jsonl\.gz, row 4: missing field 'category'"):
        load_recorded(d)


@pytest.mark.parametrize("bad", [None, True, 1.5, ["x"], ""])
def test_null_or_bad_question_id_is_refused_with_file_and_row(pack, bad):
    d, rows, _ = pack
    rows[5]["question_id"] = bad
    _rewrite_questions(d, rows)
    with pytest.raises(DataError, match=r"questions\.jsonl\.gz, row 6: question_id must be"):
        load_recorded(d)


def test_null_question_id_in_a_responses_file(pack):
    d, rows, _ = pack
    path = d / "responses" / "expert-music.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("".join(json.dumps({"question_id": None if i == 2 else r["question_id"], "pred": "A"}) + "\n"
                         for i, r in enumerate(rows)))
    with pytest.raises(DataError, match=r"expert-music\.jsonl\.gz, row 3: question_id must be"):
        load_recorded(d)


def test_fingerprint_follows_the_content(pack):
    d, *_ = pack
    before = directory_fingerprint(d)
    assert directory_fingerprint(d) == before
    (d / "responses" / "expert-music.jsonl.gz").unlink()
    assert directory_fingerprint(d) != before
    with pytest.raises(DataError, match="not a directory"):
        directory_fingerprint(d / "nope")
