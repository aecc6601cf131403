"""Run configs of a recorded replay: a recorded generator (a split replayed with its recorded answers as keys)
and a recorded pool (answers replayed from the same directory)."""

from __future__ import annotations

import pytest

from rgd.config.run_config import RunConfig

REPLAY = {"generators": [{"kind": "recorded", "model": "gen", "params": {"dir": "data/pack"}}],
          "pool": {"kind": "recorded", "params": {"dir": "data/pack"}, "models": ["a", "b"]}}


def test_a_replay_needs_no_benchmark_nor_subjects_and_is_label_free_without_test_set():
    cfg = RunConfig.model_validate(REPLAY)
    assert cfg.is_label_free and cfg.promotion_metric == "estimated_top1" and not cfg.is_simulated
    with_test = RunConfig.model_validate({**REPLAY, "test_set": {"dir": "data/pack"}})
    assert not with_test.is_label_free


def test_a_recorded_generator_may_feed_a_live_pool():
    cfg = RunConfig.model_validate({**REPLAY, "pool": {"kind": "openai", "models": ["a", "b"]}})
    assert cfg.generators[0].kind == "recorded"


@pytest.mark.parametrize("change, match", [
    ({"generators": [{"kind": "openai", "model": "gen"}], "generation": {"subjects": "s.yaml"}},
     "its generators must be recorded replays too"),
    ({"pool": {"kind": "recorded", "models": ["a", "b"]}}, "needs 'dir'"),
    ({"generators": [{"kind": "recorded", "model": "gen", "params": {}}]}, "needs 'dir'"),
    ({"generators": [{"kind": "recorded", "model": "gen", "params": {"dir": "d", "base_url": "x"}}]},
     r"unknown parameters \['base_url'\]"),
    ({"generators": [{"kind": "recorded", "params": {"dir": "d"}}]}, "needs 'model'"),
    ({"generators": [{"kind": "recorded", "model": "gen", "params": {"dir": "d", "split": "validation"}}]},
     r"params.split: a recorded generator replays 'train' or 'test', got 'validation'"),
])
def test_bad_replay_configs_name_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        RunConfig.model_validate({**REPLAY, **change})
