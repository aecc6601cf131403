"""One voter under two names (identical answer sheets) counts once, and a pool with no judge is never settled."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.truth import (
    copy_excess,
    duplicate_weights,
    estimate_truth,
    estimate_truth_restarts,
    identifiability,
)
from tests.rgd.voter_worlds import _distractor_world, three_voters


def _strong_and_weak(seed=0):
    """(choices, n_options, truth): a strong voter (0.65) and three weak ones (0.3) whose errors go to the question's
    popular distractor one time in five."""
    _, truth, model = _distractor_world(seed, 3000, 10)
    return np.array([model(0.65, 0.1), model(0.3, 0.2), model(0.3, 0.2), model(0.3, 0.2)]), np.full(3000, 10), truth


def test_identical_sheets_share_one_vote_and_nothing_else_does():
    choices, _, _ = three_voters()
    assert duplicate_weights(choices) is None
    twice = np.vstack([choices, choices[1], choices[1], choices[2]])
    assert duplicate_weights(twice).tolist() == pytest.approx([1, 1 / 3, 1 / 2, 1 / 3, 1 / 3, 1 / 2])
    almost = twice.copy()
    almost[3, 17] = (almost[3, 17] + 1) % 10  # one answer apart: another voter
    assert duplicate_weights(almost).tolist() == pytest.approx([1, 1 / 2, 1 / 2, 1, 1 / 2, 1 / 2])
    missing = almost.copy()
    missing[4] = np.where(missing[4] == 0, -1, missing[4])  # a missing answer differs from any answer
    assert duplicate_weights(missing).tolist() == pytest.approx([1, 1, 1 / 2, 1, 1, 1 / 2])
    silent = np.vstack([choices, np.full((2, choices.shape[1]), -1)])  # two models that never answer: no sheet
    assert duplicate_weights(silent) is None


def test_a_second_copy_of_a_weak_model_does_not_outvote_the_strong_one():
    choices, n_opt, truth = _strong_and_weak()
    alone = estimate_truth_restarts(choices, n_opt)
    assert int(np.argmax(alone.accuracy)) == 0
    doubled = np.vstack([choices, choices[1], choices[1]])  # the weak model 1 served under three names
    est = estimate_truth_restarts(doubled, n_opt)
    assert est.params["voter_weights"].tolist() == pytest.approx([1, 1 / 3, 1, 1, 1 / 3, 1 / 3])
    # the same estimate as with one copy (to the float32 M-step's rounding): the copies' votes add up to one vote,
    # in the start, the posterior and the questions' difficulties
    np.testing.assert_allclose(est.posterior, alone.posterior, atol=1e-6)
    np.testing.assert_allclose(est.accuracy[:4], alone.accuracy, atol=1e-6)
    np.testing.assert_allclose(est.accuracy[4:], alone.accuracy[1], atol=1e-6)
    # copies one answer apart are other voters, and counted as such the weak model's votes carry the crowd: what
    # counting the identical sheets thrice would have done
    near = doubled.copy()
    near[4, 5], near[5, 7] = (near[4, 5] + 1) % 10, (near[5, 7] + 1) % 10
    assert int(np.argmax(estimate_truth_restarts(near, n_opt).accuracy)) != 0
    # weights given by the caller (copy groups, the key's dependence): the copies still count once
    weighted = estimate_truth(doubled, n_opt, voter_weights=np.ones(6))
    np.testing.assert_allclose(weighted.posterior, estimate_truth(choices, n_opt).posterior, atol=1e-6)


def test_identical_sheets_are_an_exact_copy_in_a_pool_of_three_too():
    choices, _, _ = three_voters()
    pool = np.vstack([choices[:2], choices[1]])  # a strong model, a weak one and the weak one again
    excess = copy_excess(pool)  # each pair has one reference only, which alone cannot measure a copy
    assert excess[1, 2] == 1.0 and excess[2, 1] == 1.0 and excess[0, 1] == 0.0


def test_a_pool_with_no_judge_is_never_settled():
    choices, n_opt, truth = _strong_and_weak()
    two = choices[:2]
    ident = identifiability(estimate_truth_restarts(two, n_opt), two, n_opt)
    assert not ident.judges and not ident.identifiable
    assert "no other model answers" in ident.sentence(["S", "W"])
    assert ident.to_dict(["S", "W"])["judges"] is False
    # two and a copy of one of them: still nobody to judge between the two
    with_copy = np.vstack([two, two[1]])
    assert not identifiability(estimate_truth_restarts(with_copy, n_opt), with_copy, n_opt).judges
    # the generator's key judges
    key = np.where(np.random.default_rng(1).random(len(truth)) < 0.7, truth, (truth + 1) % 10)
    keyed = identifiability(estimate_truth_restarts(two, n_opt, key=key), two, n_opt, key=key)
    assert keyed.judges
    # and a third model does
    assert identifiability(estimate_truth_restarts(choices, n_opt), choices, n_opt).judges


def test_a_lead_of_nothing_is_not_settled():
    from rgd.truth import Identifiability

    assert not Identifiability(0, 1, lead=0.0, lead_se=0.0, required_lead=0.0).settled_lead
    assert Identifiability(0, 1, lead=0.01, lead_se=0.001, required_lead=0.002).settled_lead
