"""The few-label mode: questions asked only where the candidates differ, and the labels' verdict."""

from __future__ import annotations

import numpy as np
import pytest

from rgd import few_labels
from rgd.errors import DataError, ParameterError
from rgd.truth import estimate_truth, identifiability


def test_questions_are_asked_only_where_the_candidates_answer_differently():
    choices = np.array([[0, 1, 2, 3, -1, 0], [0, 1, 3, 3, 2, 1], [0, 2, 2, 3, 2, 0]])
    asked = few_labels.questions_to_ask(choices, np.array([0, 1]), n=10)
    assert asked.tolist() == [2, 4, 5]  # a missing answer differs from any answer
    assert len(few_labels.questions_to_ask(choices, np.array([0, 1, 2]), n=2)) == 2
    with pytest.raises(ParameterError):
        few_labels.questions_to_ask(choices, np.array([0, 1]), n=0)


def test_the_labels_name_the_candidate_right_most_often_and_ties_keep_the_label_free_order():
    choices = np.array([[0, 0, 0, 0], [1, 1, 1, 0], [2, 2, 1, 1]])
    keys = np.array([1, 1, -1, 0])  # question 2 not labelled
    d = few_labels.decide(choices, np.array([0, 1, 2]), np.arange(4), keys)
    assert d.leader == 1 and d.changed and d.correct == {0: 1, 1: 3, 2: 0} and d.n_labels == 3
    # a settled leader: two labels where only the challenger is right are a lead chance gives one time in four
    settled = few_labels.decide(choices, np.array([0, 1, 2]), np.arange(4), keys, settled=True)
    assert settled.favoured == 1 and settled.p_value == pytest.approx(0.25) and not settled.changed
    tie = few_labels.decide(choices, np.array([2, 0]), np.arange(4), np.array([0, 2, -1, -1]))
    assert tie.leader == 2 and not tie.changed and tie.p_value == 1.0
    with pytest.raises(DataError, match="no key"):
        few_labels.decide(choices, np.array([0, 1]), np.arange(4), np.full(4, -1))


def test_the_labels_overturn_a_settled_leader_only_beyond_chance():
    assert few_labels.sign_test(5, 0) == pytest.approx(1 / 32) and few_labels.sign_test(0, 0) == 1.0
    assert few_labels.sign_test(3, 3) == pytest.approx(42 / 64)
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 4, 30)

    def model(right):  # right on the first ``right`` questions, wrong (another option) on the rest
        return np.where(np.arange(30) < right, keys, (keys + 1) % 4)

    clear = np.array([model(8), model(22)])  # the challenger right on 22 of 30, the leader on 8
    d = few_labels.decide(clear, np.array([0, 1]), np.arange(30), keys, settled=True)
    assert d.changed and d.leader == 1 and d.p_value < few_labels.SIGNIFICANCE
    close = np.array([model(14), model(17)])  # 17 against 14: three questions apart, no evidence
    d = few_labels.decide(close, np.array([0, 1]), np.arange(30), keys, settled=True)
    assert d.favoured == 1 and not d.changed and d.p_value == pytest.approx(0.125)
    assert few_labels.decide(close, np.array([0, 1]), np.arange(30), keys).changed  # unsettled: the labels decide


def _pool(accs, n_q=3000, seed=0):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 5, n_q)
    rows = [np.where(rng.random(n_q) < a, keys, (keys + rng.integers(1, 5, n_q)) % 5) for a in accs]
    return np.array(rows), np.full(n_q, 5), keys


def test_identifiability_needs_a_clear_lead():
    choices, n_opt, _ = _pool([0.75, 0.55, 0.5, 0.5, 0.45, 0.45])
    clear = identifiability(estimate_truth(choices, n_opt), choices, n_opt)
    assert clear.identifiable and clear.leader == 0 and clear.lead > 0.03
    choices, n_opt, _ = _pool([0.6, 0.59, 0.5, 0.45])
    close = identifiability(estimate_truth(choices, n_opt), choices, n_opt)
    assert not close.identifiable and {close.leader, close.runner_up} == {0, 1}
    assert "NOT identifiable" in close.sentence(list("abcd")) and close.required_lead == pytest.approx(2 * close.lead_se)
    # a strong leader among a few independent voters: judged, like the runner-up, by the rest only (left out
    # alone it would be judged by the weak rest while it judges the runner-up, and fall behind)
    for seed in (0, 1):
        choices4, n_opt4, _ = _pool([0.8, 0.5, 0.4, 0.4], n_q=900, seed=seed)
        four = identifiability(estimate_truth(choices4, n_opt4), choices4, n_opt4)
        assert four.identifiable and four.leader == 0 and four.lead > 0.04
    # the plain estimate's lead counts the leader's own votes: judged by the others it is smaller
    full = estimate_truth(choices, n_opt)
    assert close.lead < full.accuracy[close.leader] - full.accuracy[close.runner_up]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_leader_whose_copies_vouch_for_it_is_not_identifiable_and_the_labels_meet_the_strong_model(seed):
    from tests.rgd.voter_worlds import clone_world

    choices, _, truth, n_opt = clone_world(seed)  # model 0 strong (0.6), 1 weak with two partial copies
    est = estimate_truth(choices, n_opt)
    ident = identifiability(est, choices, n_opt)
    assert ident.leader == 1  # the copies lift their source to the top
    assert not ident.independent_leader and ident.copy_excess >= ident.max_copy_excess
    assert ident.alternative == 0  # the hypothesis the crowd outvotes: the strong, independent model
    # the runner-up, a copy whose one near-copy is the leader (its sibling copies the leader by half as much), is
    # no other hypothesis the votes can rule out: the labels meet it too
    assert ident.contenders == (1, ident.runner_up, 0) and ident.runner_up_partner
    assert "errors coincide" in ident.sentence(list("SWOCD")) and "S may well be" in ident.sentence(list("SWOCD"))
    assert ident.to_dict(list("SWOCD"))["contenders"] == ["W", "SWOCD"[ident.runner_up], "S"]
    asked = few_labels.questions_to_ask(choices, np.array(ident.contenders), 30)
    assert few_labels.decide(choices, np.array(ident.contenders), asked, truth[asked]).leader == 0


@pytest.mark.parametrize("seed", [1, 2])  # draws where the copy model alone still ranks the weak source first
def test_a_leader_in_a_tree_of_partial_copies_is_not_identifiable_and_the_labels_meet_the_strong_model(seed):
    from rgd.truth import copy_excess, copy_parents, estimate_truth_restarts
    from tests.rgd.voter_worlds import clone_world

    # the weak model 1 and three 32% copies of it: each pair is below the copy threshold of the flag, but the
    # copy model hangs them from model 1, and with their copy probabilities fitted low they still lift it
    choices, _, truth, n_opt = clone_world(seed, share=0.32, n_clones=3)
    excess = copy_excess(choices)
    est = estimate_truth_restarts(choices, n_opt, copies=copy_parents(excess))
    ident = identifiability(est, choices, n_opt, excess=excess)
    assert ident.leader == 1 and ident.copy_excess < ident.max_copy_excess and ident.copy_tree
    assert not ident.independent_leader and not ident.identifiable
    assert ident.contenders == (1, 0)  # the alternative is outside the leader's tree: the strong model
    assert "chain of partial copies" in ident.sentence(list("SWXABC")) and "S may well be" in ident.sentence(list("SWXABC"))
    asked = few_labels.questions_to_ask(choices, np.array(ident.contenders), 30)
    assert few_labels.decide(choices, np.array(ident.contenders), asked, truth[asked]).leader == 0
    # the same pool without the copy model: no tree, so only the copy excess could flag it (it does not)
    plain = identifiability(estimate_truth_restarts(choices, n_opt), choices, n_opt, excess=excess)
    assert not plain.copy_tree and plain.independent_leader


@pytest.mark.parametrize("seed", [0, 1])
def test_a_runner_up_whose_one_near_copy_is_the_leader_joins_the_contenders(seed):
    from tests.rgd.voter_worlds import clone_world

    # the weak model 1 and one half copy of it (3), a strong model (0): the pair outvotes the strong model, and
    # whether the runner-up is the leader's clone or a strong model right with it, the votes cannot tell
    choices, _, truth, n_opt = clone_world(seed, n_clones=1)
    ident = identifiability(estimate_truth(choices, n_opt), choices, n_opt)
    assert (ident.leader, ident.runner_up) == (1, 3) and ident.runner_up_partner and not ident.identifiable
    assert ident.contenders == (1, 3, 0)  # the labels meet the pair and the hypothesis the pair outvotes
    asked = few_labels.questions_to_ask(choices, np.array(ident.contenders), 30)
    assert few_labels.decide(choices, np.array(ident.contenders), asked, truth[asked]).leader == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_where_every_model_copies_the_leader_the_labels_meet_the_one_only_part_of_the_way_to_a_copy(seed):
    from rgd.truth import COPY_EXCESS, copy_excess, copy_parents, estimate_truth_restarts
    from tests.rgd.voter_worlds import partner_world

    # the weak model 1 and three near copies of it; the strong model 0 gives model 1's answer on 30% of the
    # questions: no model copies nobody, and the runner-up is a copy of the leader, whom labels cannot tell apart
    choices, n_opt, truth = partner_world(seed)
    excess = copy_excess(choices)
    assert COPY_EXCESS / 2 <= excess[0, 1] < COPY_EXCESS and (excess[2:].max(axis=1) >= COPY_EXCESS).all()
    ident = identifiability(estimate_truth_restarts(choices, n_opt, copies=copy_parents(excess)), choices, n_opt,
                            excess=excess)
    assert ident.leader == 1 and not ident.identifiable and ident.runner_up >= 2
    assert ident.contenders == (1, 0)  # outside the leader's tree and no near-copy of it: the strong model
    asked = few_labels.questions_to_ask(choices, np.array(ident.contenders), 30)
    assert few_labels.decide(choices, np.array(ident.contenders), asked, truth[asked]).leader == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_in_a_pool_of_three_a_near_copy_seen_through_the_one_other_model_flags_the_leader(seed):
    from rgd.truth import COPY_EXCESS, copy_excess, estimate_truth_restarts
    from tests.rgd.voter_worlds import near_copy_trio

    # a weak model and its near copy outvote the strong third: through one reference alone the pair is not fitted
    # as a copy (copy_excess 0), but the flag sees it, and the labels meet the strong model too
    choices, n_opt, truth = near_copy_trio(seed)
    assert copy_excess(choices).max() == 0.0
    ident = identifiability(estimate_truth_restarts(choices, n_opt), choices, n_opt)
    assert ident.leader in (1, 2) and ident.copy_excess >= COPY_EXCESS and not ident.identifiable
    assert 0 in ident.contenders
    asked = few_labels.questions_to_ask(choices, np.array(ident.contenders), 30)
    assert few_labels.decide(choices, np.array(ident.contenders), asked, truth[asked]).leader == 0


def test_a_strong_leader_among_independent_voters_stays_identifiable():
    from tests.rgd.test_truth import difficulty_world

    choices, n_opt, _ = difficulty_world(3, abilities=(2.0, 0.5, 0.3, -1.0, -1.0))
    ident = identifiability(estimate_truth(choices, n_opt), choices, n_opt)
    assert ident.identifiable and ident.leader == 0 and ident.contenders == (0, ident.runner_up)
