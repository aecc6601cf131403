"""A recorded generator: a split's questions replayed with the generator's recorded answers as keys; the
benchmark's true keys never leave the loader."""

from __future__ import annotations

import gzip
import json

import pytest

from rgd.errors import DataError, ParameterError
from rgd.generation.replay import REPLAY_PROMPT_VERSION, replay_generated
from tests.rgd.conftest import synthetic_pool, write_recorded


def _pack(tmp_path, n=200):
    rows, preds, _ = synthetic_pool(n)
    directory = write_recorded(tmp_path / "pack", rows, preds)
    (directory / "generators").mkdir()
    # the generator: "A" for every even question id, no answer for every third one
    answers = {r["question_id"]: (None if r["question_id"] % 3 == 0 else ("A" if r["question_id"] % 2 == 0 else "B"))
               for r in rows}
    with gzip.open(directory / "generators" / "gen.jsonl.gz", "wt") as fh:
        for qid, pred in answers.items():
            fh.write(json.dumps({"question_id": qid, "pred": pred}) + "\n")
    split = json.loads((directory / "split.json").read_text())
    return directory, rows, answers, split


def test_keys_are_the_generators_answers_and_unanswered_questions_are_dropped(tmp_path):
    directory, rows, answers, split = _pack(tmp_path)
    questions, report = replay_generated(directory, "gen", n_per_subject=1000, seed=0)
    train = {str(i) for i in split["train"]}
    assert questions and {q.id for q in questions} <= train  # the train split only, by default
    expected = {str(qid) for qid, a in answers.items() if a is not None and str(qid) in train}
    assert {q.id for q in questions} == expected
    for q in questions:
        assert q.answer == answers[int(q.id)]  # the generator's key, never the benchmark's
        assert q.provenance.kind == "generated" and q.provenance.source == "gen"
        assert q.provenance.prompt_version == REPLAY_PROMPT_VERSION
    assert report["kept"] == len(questions) and report["unkeyed"] == sum(
        1 for i in split["train"] if answers[i] is None)


def test_n_per_subject_is_a_seeded_cap_per_subject(tmp_path):
    directory, *_ = _pack(tmp_path)
    a, report = replay_generated(directory, "gen", n_per_subject=20, seed=0)
    b, _ = replay_generated(directory, "gen", n_per_subject=20, seed=0)
    c, _ = replay_generated(directory, "gen", n_per_subject=20, seed=1)
    assert report["per_subject"] == {"science": 20, "arts": 20}
    assert [q.id for q in a] == [q.id for q in b] != [q.id for q in c]


def test_test_split_and_answers_file_can_be_named(tmp_path):
    directory, _, _, split = _pack(tmp_path)
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({"question_id": i, "pred": "C"}) + "\n" for i in split["test"]))
    questions, _ = replay_generated(directory, "anyone", 1000, seed=0, answers=other, split="test")
    assert {q.id for q in questions} == {str(i) for i in split["test"]} and {q.answer for q in questions} == {"C"}


def test_bad_replays_are_clear_errors(tmp_path):
    directory, *_ = _pack(tmp_path)
    with pytest.raises(DataError, match="no recorded answers of generator 'missing'"):
        replay_generated(directory, "missing", 10, seed=0)
    with pytest.raises(ParameterError, match="split 'train' or 'test'"):
        replay_generated(directory, "gen", 10, seed=0, split="validation")
    silent = tmp_path / "silent.jsonl"
    silent.write_text(json.dumps({"question_id": 1, "pred": None}) + "\n")
    with pytest.raises(DataError, match="answered none"):
        replay_generated(directory, "gen", 10, seed=0, answers=silent)
