"""An empty filter result says which check removed what (issue 13, class 12)."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.data.schema import Provenance, Question
from rgd.errors import DataError
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.curate import filter_stage


def _questions(n):
    prov = Provenance(kind="generated", source="g")
    return [Question(id=f"q{i}", subject="math", text=f"question {i}?", options=["a", "b", "c", "d"], answer="A",
                     provenance=prov) for i in range(n)]


def test_every_question_dropped_names_each_check_and_its_threshold():
    qs = _questions(6)
    # every model answers A (the key) on every question: all too easy and no entropy
    table = ResponseTable(models=("m1", "m2", "m3"), question_ids=tuple(q.id for q in qs),
                          subjects=np.array(["math"] * 6), n_options=np.full(6, 4),
                          choices=np.zeros((3, 6), dtype=np.int8), confidence=np.full((3, 6), np.nan),
                          answers=np.zeros(6, dtype=np.int8))
    config = RunConfig(generators=["strong"])
    with pytest.raises(DataError) as info:
        filter_stage(config.filter, QuestionSet(tuple(qs)), table, None)
    msg = str(info.value)
    assert "all 6 generated questions" in msg
    assert "low_answer_entropy (min_answer_entropy=0.1): 6" in msg
    assert "too_easy (min_pool_wrong=1): 6" in msg
    assert "self_consistency: not run (no re-answers of the generator were given)" in msg


def test_no_generated_questions_at_all():
    table = ResponseTable(models=("m1", "m2"), question_ids=(), subjects=np.array([], dtype=str),
                          n_options=np.zeros(0, dtype=np.int16), choices=np.zeros((2, 0), dtype=np.int8),
                          confidence=np.zeros((2, 0)), answers=np.zeros(0, dtype=np.int8))
    with pytest.raises(DataError, match="no generated questions reached the filter"):
        filter_stage(RunConfig(generators=["strong"]).filter, QuestionSet(()), table, None)
