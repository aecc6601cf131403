"""A real-model run without test_set is label-free end to end; its promotion metric defaults to the estimate."""

from __future__ import annotations

import pytest

from rgd.config.run_config import RunConfig
from rgd.workflow.sources import data_view

REAL = {"generators": [{"kind": "openai", "model": "gen"}], "pool": {"kind": "openai", "models": ["a", "b"]},
        "generation": {"subjects": "subjects.yaml"}}


def test_no_test_set_is_label_free_with_the_estimated_metric():
    cfg = RunConfig.model_validate(REAL)
    assert cfg.test_set is None and cfg.is_label_free and cfg.promotion_metric == "estimated_top1"
    assert cfg.evaluation.holdout_fraction == 0.15
    cfg = RunConfig.model_validate({**REAL, "registry": {"metric": "estimated_top3_vote"}})
    assert cfg.promotion_metric == "estimated_top3_vote"


def test_with_a_test_set_the_labelled_metric_is_the_default():
    cfg = RunConfig.model_validate({**REAL, "test_set": {"dir": "data/x"}})
    assert not cfg.is_label_free and cfg.promotion_metric == "top1"
    bench = RunConfig.model_validate({**REAL, "benchmark": "mmlu_pro"})
    assert bench.test_set is not None and bench.test_set.dir == "data/mmlu_pro"
    # `test_set: null` says there is none, even with a benchmark
    none = RunConfig.model_validate({**REAL, "benchmark": "mmlu_pro", "test_set": None})
    assert none.is_label_free and data_view(none).is_label_free
    assert RunConfig.model_validate({"generators": ["strong"]}).promotion_metric == "top1"


def test_label_free_needs_a_holdout_and_an_estimated_metric():
    with pytest.raises(ValueError, match="holdout_fraction > 0"):
        RunConfig.model_validate({**REAL, "evaluation": {"holdout_fraction": 0.0}})
    with pytest.raises(ValueError, match="needs a labelled test set"):
        RunConfig.model_validate({**REAL, "registry": {"metric": "top1"}})
    with pytest.raises(ValueError, match="holdout_fraction > 0"):
        RunConfig.model_validate({"generators": ["strong"], "evaluation": {"holdout_fraction": 0},
                                  "registry": {"metric": "estimated_top1"}})
