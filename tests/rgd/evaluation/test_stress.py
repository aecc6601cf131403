"""The stress suite's transformations change only what they say, and build the shape they promise."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.data.response_table import ResponseTable
from rgd.errors import DataError, ParameterError
from rgd.evaluation.stress import KINDS, add_clone, stress_pool, stress_suite, with_missing, with_position_bias


def _table(n_q: int = 4000, accs=(0.7, 0.45, 0.35, 0.3, 0.25, 0.3), seed: int = 0) -> ResponseTable:
    rng = np.random.default_rng(seed)
    n_opt = np.full(n_q, 10)
    keys = rng.integers(0, 10, n_q)
    rows = []
    for a in accs:
        wrong = (keys + rng.integers(1, 10, n_q)) % 10
        rows.append(np.where(rng.random(n_q) < a, keys, wrong))
    models = tuple(f"m{i}" for i in range(len(accs)))
    return ResponseTable(models, tuple(map(str, range(n_q))), np.array(["s"] * n_q), n_opt.astype(np.int16),
                         np.array(rows, dtype=np.int8), np.full((len(accs), n_q), np.nan, np.float32),
                         keys.astype(np.int8))


def test_a_clone_copies_its_source_on_the_given_share_and_answers_like_its_base_elsewhere():
    t = _table()
    out = add_clone(t, "m2", "m3", 0.5, np.random.default_rng(1), "m2~clone1")
    src, base, clone = out.choices[2], out.choices[3], out.choices[-1]
    assert out.models[-1] == "m2~clone1" and out.n_models == t.n_models + 1
    differ = src != base
    assert abs((clone[differ] == src[differ]).mean() - 0.5) < 0.04  # copies the source on half the questions
    assert ((clone == src) | (clone == base)).all()
    both_wrong = (src != t.answers) & (clone != t.answers)
    assert (clone[both_wrong] == src[both_wrong]).mean() > 0.5  # far beyond chance (1/9)
    assert np.array_equal(out.choices[: t.n_models], t.choices)  # nobody else changed


def test_position_bias_moves_only_wrong_answers_to_a_and_keeps_the_accuracy():
    t = _table()
    out = with_position_bias(t, "m3", 0.4, np.random.default_rng(2))
    before, after = t.choices[3], out.choices[3]
    assert np.array_equal(out.correct()[3], t.correct()[3])  # accuracy unchanged: a key never becomes A
    changed = before != after
    assert (after[changed] == 0).all() and (before[changed] != t.answers[changed]).all()
    assert (after == 0).mean() > (before == 0).mean() + 0.15


def test_missing_answers_are_taken_from_wrong_answers_only():
    t = _table()
    out = with_missing(t, "m4", 0.3, np.random.default_rng(3))
    dropped = (out.choices[4] < 0) & (t.choices[4] >= 0)
    assert abs(dropped.mean() - 0.3 * (1 - t.accuracy()[4])) < 0.03
    assert (t.choices[4][dropped] != t.answers[dropped]).all()
    assert np.array_equal(out.correct()[4], t.correct()[4])


def test_each_kind_builds_its_shape_and_the_suite_is_seeded():
    t = _table()
    lone = stress_pool(t, "lone_strong", np.random.default_rng(0))
    acc = dict(zip(lone.table.models, lone.table.accuracy()))
    strong = max(acc, key=acc.get)
    assert len(lone.table.models) >= 5 and any("~clone" in m for m in lone.table.models)
    assert all(a < acc[strong] - 0.05 for m, a in acc.items() if m != strong)
    assert any("moved to A" in c for c in lone.changes) and any("dropped" in c for c in lone.changes)
    suite = stress_suite(t, 8, seed=4)
    assert [p.kind for p in suite] == list(KINDS) * 2
    again = stress_suite(t, 8, seed=4)
    assert all(np.array_equal(a.table.choices, b.table.choices) for a, b in zip(suite, again))


def test_bad_requests_are_clear_errors():
    t = _table()
    with pytest.raises(ParameterError, match="share"):
        with_missing(t, "m1", 1.5, np.random.default_rng(0))
    with pytest.raises(DataError, match="not in the pool"):
        with_missing(t, "nobody", 0.2, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="kind"):
        stress_pool(t, "chaos", np.random.default_rng(0))
    with pytest.raises(DataError, match="weaker"):
        stress_pool(_table(accs=(0.5, 0.5, 0.5)), "clones", np.random.default_rng(0))
