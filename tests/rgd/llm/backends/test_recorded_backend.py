"""RecordedBackend replays recorded answers and refuses anything it did not record."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.data.response_table import ResponseTable
from rgd.data.schema import Question, Response
from rgd.llm.backends.errors import BackendError
from rgd.llm.backends.recorded import RecordedBackend, UnrecordedQuestionError
from tests.paths import SHARED_MMLU as SHARED

QUESTIONS = [Question(id=f"q{i}", subject="s", text=f"t{i}", options=["a", "b", "c"]) for i in range(4)]


@pytest.fixture()
def table() -> ResponseTable:
    responses = [
        Response(model="m1", question_id="q0", choice="B", confidence=-0.5),
        Response(model="m1", question_id="q1", choice=None),
        Response(model="m1", question_id="q2", choice="C", confidence=-1.25),
        Response(model="m2", question_id="q0", choice="A"),
    ]
    return ResponseTable.from_records(QUESTIONS, responses, models=["m1", "m2"])


def test_replays_answers_in_asked_order(table):
    backend = RecordedBackend("m1", table)
    got = backend.answer([QUESTIONS[2], QUESTIONS[0], QUESTIONS[1], QUESTIONS[3]])
    assert [(r.question_id, r.choice, r.confidence) for r in got] == [
        ("q2", "C", -1.25),
        ("q0", "B", -0.5),
        ("q1", None, None),
        ("q3", None, None),
    ]
    assert all(r.model == "m1" for r in got)


def test_refuses_unrecorded_questions_and_models(table):
    backend = RecordedBackend("m2", table)
    stranger = Question(id="new", subject="s", text="?", options=["a", "b"])
    with pytest.raises(KeyError, match="never recorded.*'new'"):
        backend.answer([QUESTIONS[0], stranger])
    with pytest.raises(UnrecordedQuestionError):
        backend.answer([stranger])
    with pytest.raises(BackendError, match="no recorded answers for model 'm3'"):
        RecordedBackend("m3", table)
    with pytest.raises(BackendError, match="cannot generate"):
        backend.generate(["hello"])
    changed = Question(id="q0", subject="s", text="t0", options=["a", "b"])
    with pytest.raises(BackendError, match="recorded with 3"):
        backend.answer([changed])


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"recorded MMLU-Pro data not found at {SHARED}")
def test_replays_real_mmlu_pro_answers():
    from rgd.data.recorded import load_recorded

    data = load_recorded(SHARED, models=["gemma-7b", "Meta-Llama-3-70B"])
    backend = RecordedBackend("gemma-7b", data)
    questions = list(data.questions[:500])
    got = backend.answer(questions)
    row = data.table.choices[0, :500]
    expected = [None if c < 0 else "ABCDEFGHIJ"[c] for c in row]
    assert [r.choice for r in got] == expected
    assert np.mean([c is not None for c in expected]) > 0.5


def test_replays_a_directory_and_reloads_it_when_a_file_changes(tmp_path):
    import gzip
    import json

    from rgd.config.run_config import RunConfig
    from rgd.data.recorded import load_split_questions
    from rgd.llm.backends import make_backend
    from rgd.workflow.sources import LLMSource
    from tests.rgd.conftest import synthetic_pool, write_recorded

    rows, preds, _ = synthetic_pool(20)
    pack = write_recorded(tmp_path / "pack", rows, preds)
    questions = load_split_questions(pack, "train")
    model = sorted(preds)[0]
    backend = make_backend("recorded", model=model, dir=str(pack))
    assert [r.choice for r in backend.answer(questions)] == [preds[model][int(q.id)] for q in questions]
    config = RunConfig.model_validate({"generators": [{"kind": "recorded", "model": "g", "params": {"dir": str(pack)}}],
                                       "pool": {"kind": "recorded", "params": {"dir": str(pack)}, "models": sorted(preds)}})
    before = LLMSource(config).answer_identity(model)
    with gzip.open(pack / "responses" / f"{model}.jsonl.gz", "wt") as fh:  # every answer becomes "D"
        fh.write("".join(json.dumps({"question_id": r["question_id"], "pred": "D"}) + "\n" for r in rows))
    assert LLMSource(config).answer_identity(model) != before  # saved answers of the old file are not reused
    assert {r.choice for r in make_backend("recorded", model=model, dir=str(pack)).answer(questions)} == {"D"}
    with pytest.raises(BackendError, match="either a loaded table or a directory"):
        RecordedBackend(model)
