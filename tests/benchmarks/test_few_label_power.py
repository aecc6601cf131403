"""benchmarks/few_label_power.py: how often a few labels favour the worse of two models."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import few_label_power as bench
from tests.paths import SHARED_MMLU


def test_labels_never_favour_a_model_that_is_wrong_wherever_the_two_differ_and_split_evenly_on_equals():
    rng = np.random.default_rng(0)
    answers = rng.integers(4, size=600)
    strong = answers.copy()
    weak = np.where(rng.random(600) < 0.5, answers, (answers + 1) % 4)  # wrong wherever it differs from strong
    out = bench.power(np.array([strong, weak]), answers, np.array([0, 1]), 30, 200)
    assert out["worse_has_more_right"] == 0.0 and out["tied"] == 0.0 and out["accuracy"][0] == 1.0
    twin = np.where(rng.random(600) < 0.5, answers, (answers + 2) % 4)  # as good as weak, its errors elsewhere
    even = bench.power(np.array([weak, twin]), answers, np.array([0, 1]), 30, 400)
    assert 0.25 < even["worse_has_more_right"] < 0.55  # two equally good models: a coin flip, ties aside


@pytest.mark.skipif(not SHARED_MMLU.is_dir(), reason="needs the shared MMLU-Pro pack (../shared/data/mmlu_pro)")
def test_two_recorded_models_three_points_apart_are_often_told_apart_the_wrong_way():
    from rgd.data.recorded import load_recorded

    _, table = load_recorded(SHARED_MMLU).part("train")
    pair = np.array([table.models.index("Meta-Llama-3-70B"), table.models.index("Qwen1.5-110B")])
    out = bench.power(table.choices, table.answers, pair, 30, 500)
    assert out["accuracy"][0] - out["accuracy"][1] > 0.02 and 0.15 < out["worse_has_more_right"] < 0.45
