"""The label-free accuracy estimate: posterior mass of the routed option; never reads a key."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.consensus import ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.estimate import check_pool, estimate_ranks, estimate_routers
from rgd.evaluation.metrics import evaluate_ranks
from rgd.routers.base import TrainingSet
from rgd.workflow.estimate import estimate_set_id, holdout_split, label_free_estimate, truth_posterior
from rgd.workflow.train import fit_routers
from tests.rgd.tracking.synthetic import synthetic_pool


def _table(choices, answers, n_options=4):
    choices = np.asarray(choices, dtype=np.int8)
    m, q = choices.shape
    return ResponseTable(models=tuple(f"m{i}" for i in range(m)), question_ids=tuple(f"q{j}" for j in range(q)),
                         subjects=np.array(["s"] * q), n_options=np.full(q, n_options, np.int16), choices=choices,
                         confidence=np.full((m, q), np.nan, np.float32), answers=np.asarray(answers, np.int8))


def test_estimate_is_the_posterior_mass_of_the_routed_option():
    t = _table([[0, 1, -1], [1, 1, 2], [1, 3, 2]], [-1, -1, -1])
    posterior = np.array([[0.6, 0.4, 0, 0], [0.1, 0.7, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    ranks = np.tile([0, 1, 2], (3, 1))
    est = estimate_ranks(ranks, t, posterior)
    # top-1: m0 chose 0 (0.6), 1 (0.7), nothing (0); top-3 vote: 1 (0.4), 1 (0.7), 2 (0.25)
    assert est.top1 == pytest.approx((0.6 + 0.7 + 0) / 3)
    assert est.top3_vote == pytest.approx((0.4 + 0.7 + 0.25) / 3)
    # a one-hot posterior on the true keys gives back the labelled accuracy exactly
    keys = np.array([1, 1, 2])
    labelled = evaluate_ranks(ranks, t.with_answers(keys), np.zeros((3, 3), np.float32))
    onehot = np.eye(4)[keys]
    exact = estimate_ranks(ranks, t, onehot)
    assert (exact.top1, exact.top3_vote) == (pytest.approx(labelled.top1), pytest.approx(labelled.top3_vote))


def _fitted(seed=0):
    texts, table = synthetic_pool(n_per_subject=40, seed=seed)
    from rgd.embedding import make_embedder

    emb = make_embedder("tfidf", n_components=16).fit(texts)
    x = emb.embed(texts)
    train_cols, test_cols = np.arange(0, table.n_questions, 2), np.arange(1, table.n_questions, 2)
    train, test = table.take(train_cols), table.take(test_cols)
    scorer = ConsensusScorer().fit(train)
    routers, _ = fit_routers(["cascal", "best_single", "random"], {"cascal": {"min_points": 5}},
                             TrainingSet(train, x[train_cols], scorer.score(train)))
    return routers, train, test, x[test_cols], scorer


def test_poisoned_keys_give_the_same_estimate():
    routers, train, test, test_x, scorer = _fitted()
    z = scorer.zscores(test)
    clean = label_free_estimate(routers, train, test, test_x, z=z)
    rng = np.random.default_rng(7)
    poison_train = train.with_answers(rng.integers(0, 4, train.n_questions))
    poison_test = test.with_answers((test.answers + 1) % 4)  # every key wrong
    poisoned = label_free_estimate(routers, poison_train, poison_test, test_x, z=z)
    assert {k: v.to_dict() for k, v in clean.items()} == {k: v.to_dict() for k, v in poisoned.items()}
    # and it tracks the truth on this pool: the experts' router is estimated (and is) far above random
    assert clean["cascal"].top1 > clean["random"].top1 + 0.1


def test_empty_or_one_model_pool_is_a_clear_error():
    routers, train, test, test_x, scorer = _fitted()
    one = test.select_models([test.models[0]])
    with pytest.raises(ParameterError, match="at least two models"):
        check_pool(one)
    with pytest.raises(ParameterError, match="at least two models"):
        truth_posterior(train.select_models([train.models[0]]), one)
    empty = test.take(np.arange(0))
    with pytest.raises(ParameterError, match="at least one question"):
        label_free_estimate(routers, train, empty, test_x[:0])
    with pytest.raises(ParameterError, match="at least two models"):
        estimate_routers({}, test.select_models([]), test_x, np.zeros((test.n_questions, 4)))


def test_posterior_of_the_wrong_shape_or_pool_is_refused():
    routers, train, test, test_x, _ = _fitted()
    with pytest.raises(ParameterError, match="posterior must be"):
        estimate_routers(routers, test, test_x, np.ones((3, 4)))
    with pytest.raises(ParameterError, match="pool"):
        truth_posterior(train.select_models(list(train.models[:3])), test)


def test_holdout_split_is_seeded_stratified_and_disjoint():
    ids = [f"q{i}" for i in range(100)]
    subjects = ["a"] * 60 + ["b"] * 40
    train, held = holdout_split(ids, subjects, 0.15, seed=3)
    assert sorted(train + held) == list(range(100)) and not set(train) & set(held)
    assert sum(subjects[i] == "a" for i in held) == 9 and sum(subjects[i] == "b" for i in held) == 6
    assert holdout_split(ids, subjects, 0.15, seed=3) == (train, held)
    assert holdout_split(ids, subjects, 0.15, seed=4)[1] != held
    # the input order does not decide which questions are held out
    rev = holdout_split(ids[::-1], subjects[::-1], 0.15, seed=3)[1]
    assert sorted(ids[::-1][i] for i in rev) == sorted(ids[i] for i in held)
    assert holdout_split(ids, subjects, 0.0, seed=3) == (list(range(100)), [])
    with pytest.raises(ParameterError):
        holdout_split(ids, subjects, 1.0, seed=3)


def test_estimate_set_id_names_questions_and_pool():
    a = estimate_set_id("hash1", ["m1", "m2"])
    assert a == estimate_set_id("hash1", ["m1", "m2"])
    assert a != estimate_set_id("hash2", ["m1", "m2"]) and a != estimate_set_id("hash1", ["m1", "m3"])


def test_the_readings_and_the_interval_span_what_each_label_free_signal_says():
    from rgd.evaluation.estimate import INTERVAL_Z, LEVEL_TOLERANCE

    t = _table([[0, 1, 2, 3], [0, 1, 0, 0], [1, 1, 2, 2]], [-1, -1, -1, -1])
    posterior = np.array([[0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 0.8, 0.2], [0.3, 0, 0, 0.7]])
    ranks = np.array([[0, 1, 2], [1, 0, 2], [0, 1, 2], [2, 0, 1]])  # routed: m0, m1, m0, m2
    judged = np.array([[0.5, 0.6, 0.4, 0.1], [0.2, 0.9, 0.1, 0.2], [0.3, 0.3, 0.3, 0.0]])
    keys = np.array([0, 0, 2, -1])  # the generator's own answers; none for the last question
    est = estimate_ranks(ranks, t, posterior, judged=judged, keys=keys)
    # routed options: 0, 1, 2, 2 -> consensus 0.9, 1, 0.8, 0 ; judged (m0 q0, m1 q1, m0 q2, m2 q3): .5 .9 .4 0
    assert est.top1 == pytest.approx(2.7 / 4)
    assert est.readings["top1"]["judged"] == pytest.approx(1.8 / 4)
    # the keys reading: how often the routed option is the generator's, on the questions it answered (2 of 3)
    assert est.readings["top1"]["keys"] == pytest.approx(2 / 3)
    low, high = est.interval("top1")
    pad = INTERVAL_Z * est.se["top1"]
    assert est.se["top1"] > 0
    assert low == pytest.approx(max(0.0, 1.8 / 4 - pad)) and high == pytest.approx(min(1.0, 2.7 / 4 + pad))
    assert est.spread("top1") == pytest.approx(2.7 / 4 - 1.8 / 4) and est.spread("top1") > LEVEL_TOLERANCE
    assert est.uncertain and est.n_readings == 3
    row = est.to_dict()
    assert row["top1_keys"] == pytest.approx(2 / 3) and row["uncertain"] == 1.0 and row["top1_low"] == low
    # with one reading only there is nothing to disagree: not uncertain, and the interval is the sampling noise
    alone = estimate_ranks(ranks, t, posterior)
    assert not alone.uncertain and alone.n_readings == 1
    assert alone.interval("top1") == pytest.approx((max(0.0, est.top1 - pad), min(1.0, est.top1 + pad)))
    with pytest.raises(ParameterError, match="judged must be"):
        estimate_ranks(ranks, t, posterior, judged=judged[:2])
    with pytest.raises(ParameterError, match="keys must be"):
        estimate_ranks(ranks, t, posterior, keys=keys[:3])


def test_readings_that_agree_leave_the_level_certain():
    t = _table([[0, 1, 2, 3], [0, 1, 2, 0]], [-1, -1, -1, -1])
    onehot = np.eye(4)[[0, 1, 2, 3]]
    ranks = np.tile([0, 1], (4, 1))
    est = estimate_ranks(ranks, t, onehot, judged=np.ones((2, 4)), keys=np.array([0, 1, 2, 3]))
    assert est.readings["top1"] == {"judged": 1.0, "keys": 1.0} and est.spread("top1") == 0 and not est.uncertain


def test_the_held_out_judged_reading_leaves_each_routed_models_own_vote_out():
    from rgd.workflow.estimate import held_out_truth

    routers, train, test, test_x, scorer = _fitted()
    truth = held_out_truth(train, test)
    plain = label_free_estimate(routers, train, test, test_x, z=scorer.zscores(test), truth=truth)
    assert truth.judged.shape == test.choices.shape and truth.keys_arbiter is None
    for name, e in plain.items():
        # a model cannot vouch for itself: judged by the others it is never rated above its own posterior mass
        assert e.readings["top1"]["judged"] <= e.top1 + 1e-9, name
    # the generator's keys are judged by a second fit: a generator that is always right (the synthetic pool's
    # keys playing its answers) is rated an arbiter, one that answers at random is not
    assert held_out_truth(train, test, keys=test.answers).keys_arbiter is True
    noise = np.random.default_rng(0).integers(0, 4, test.n_questions)
    assert held_out_truth(train, test, keys=noise).keys_arbiter is False
