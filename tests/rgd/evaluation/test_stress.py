"""The stress suite's transformations change only what they say, and build the shape they promise."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.data.response_table import ResponseTable
from rgd.errors import DataError, ParameterError
from rgd.evaluation.stress import (
    KINDS,
    add_clone,
    add_strong,
    frontier_pool,
    frontier_suite,
    stress_pool,
    stress_suite,
    with_missing,
    with_position_bias,
)


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


def _difficulty_table(n_q: int = 4000, seed: int = 0) -> ResponseTable:
    """Models that are right on a question by its ease (one latent ease per question), as on real benchmarks."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 10, n_q)
    ease = rng.normal(0, 1, n_q)
    rows = []
    for skill in (0.5, 0.0, -0.3, -0.6, -0.9):
        right = rng.random(n_q) < 1 / (1 + np.exp(-(3 * ease + 2 * skill)))
        rows.append(np.where(right, keys, (keys + rng.integers(1, 10, n_q)) % 10))
    m = len(rows)
    return ResponseTable(tuple(f"m{i}" for i in range(m)), tuple(map(str, range(n_q))), np.array(["s"] * n_q),
                         np.full(n_q, 10, np.int16), np.array(rows, dtype=np.int8), np.full((m, n_q), np.nan, np.float32),
                         keys.astype(np.int8))


def test_a_strong_member_gives_the_key_on_its_easiest_share_and_answers_like_its_base_elsewhere():
    t = _difficulty_table()
    ease = t.correct().mean(axis=0)
    out = add_strong(t, "m3", 0.6, np.random.default_rng(1), "m3+key1", spread=0.0)
    strong, base = out.choices[-1].astype(int), t.choices[3].astype(int)
    assert out.models[-1] == "m3+key1" and np.array_equal(out.choices[: t.n_models], t.choices)
    changed = strong != base
    assert (strong[changed] == t.answers[changed]).all()  # only ever turned into the key
    assert out.accuracy()[-1] >= 0.6 and out.accuracy()[-1] > t.accuracy()[3] + 0.2
    keyed = np.argsort(-ease, kind="stable")[:2400]  # spread 0: exactly the 60% easiest for everyone
    assert (strong[keyed] == t.answers[keyed]).all()
    # with noise the keyed questions are still the easier ones; drawn at random they are not
    noisy = add_strong(t, "m3", 0.6, np.random.default_rng(2), "s", spread=0.25).choices[-1].astype(int)
    rand = add_strong(t, "m3", 0.6, np.random.default_rng(2), "s", spread=None).choices[-1].astype(int)
    wrong = base != t.answers  # where the base errs, the strong member is right on the easier questions
    gained_noisy, gained_rand = (noisy != base), (rand != base)
    assert ease[gained_noisy].mean() > ease[wrong & ~gained_noisy].mean() + 0.1
    assert abs(ease[gained_rand].mean() - ease[wrong & ~gained_rand].mean()) < 0.03


def test_a_frontier_pool_has_several_strong_members_right_together_and_is_seeded():
    t = _difficulty_table()
    pool = frontier_pool(t, np.random.default_rng(3))
    strong = [m for m in pool.table.models if "+key" in m]
    assert pool.kind == "frontier" and 2 <= len(strong) <= 4 and 1 <= pool.table.n_models - len(strong) <= 4
    acc = dict(zip(pool.table.models, pool.table.accuracy()))
    recorded = dict(zip(t.models, t.accuracy()))
    assert all(acc[m] > recorded[m.split("+")[0]] for m in strong) and len(pool.changes) == len(strong)
    right = pool.table.correct()[[pool.table.models.index(m) for m in strong]]
    assert right.all(axis=0).mean() > np.prod(right.mean(axis=1))  # right together beyond independence
    suite, again = frontier_suite(t, 4, seed=5), frontier_suite(t, 4, seed=5)
    assert [p.name for p in suite] == [f"frontier-{i}" for i in range(4)]
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
    with pytest.raises(ParameterError, match="spread"):
        add_strong(t, "m1", 0.5, np.random.default_rng(0), "s", spread=-1.0)
    with pytest.raises(DataError, match="at least 3"):
        frontier_pool(_table(accs=(0.5, 0.4)), np.random.default_rng(0))
