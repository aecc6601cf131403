"""A held-out share that leaves the router too little to train on is refused up front, naming
evaluation.holdout_fraction, not a numpy IndexError from inside the router's fit (issue 28, 6)."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.config.run_config import RunConfig, parse_run_config
from rgd.data.response_table import ResponseTable
from rgd.data.schema import Provenance, Question
from rgd.errors import DataError, ParameterError
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.estimate import holdout_stage


def _kept(n_subjects, per_subject):
    prov = Provenance(kind="generated", source="g")
    qs = [Question(id=f"s{s}q{i}", subject=f"s{s}", text=f"question {s} {i}?", options=["a", "b", "c", "d"],
                   answer="A", provenance=prov) for s in range(n_subjects) for i in range(per_subject)]
    n = len(qs)
    table = ResponseTable(models=("m1", "m2"), question_ids=tuple(q.id for q in qs),
                          subjects=np.array([q.subject for q in qs]), n_options=np.full(n, 4),
                          choices=np.zeros((2, n), dtype=np.int8), confidence=np.full((2, n), np.nan),
                          answers=np.zeros(n, dtype=np.int8))
    return QuestionSet(tuple(qs), role="filtered"), table


@pytest.mark.parametrize("fraction", [0.999, 0.9, 0.51])
def test_a_holdout_over_half_is_refused_at_config_load(fraction):
    with pytest.raises(DataError, match=r"evaluation\.holdout_fraction"):
        parse_run_config({"generators": ["strong"], "evaluation": {"holdout_fraction": fraction}})
    assert parse_run_config({"generators": ["strong"], "evaluation": {"holdout_fraction": 0.5}})


def test_a_training_share_of_one_question_per_subject_is_refused():
    kept, table = _kept(3, 3)  # half of 3 rounds to 2 held out: 1 left to train on in each subject
    config = RunConfig.model_validate({"generators": ["strong"], "evaluation": {"holdout_fraction": 0.5}})
    fraction = config.evaluation.holdout_fraction
    with pytest.raises(ParameterError, match=r"evaluation\.holdout_fraction 0\.5 leaves 3 training question"):
        holdout_stage(kept, table, fraction, config.seed)
    kept, table = _kept(3, 4)
    train_q, _, held_q, _ = holdout_stage(kept, table, fraction, config.seed)
    assert len(train_q) == 6 and len(held_q) == 6
