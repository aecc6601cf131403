"""The product's router: label-free choices (key use, how local to route), probabilities, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.consensus import ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.errors import NotFittedError, ParameterError
from rgd.routers.base import Router, TrainingSet
from rgd.routers.registry import fit_router
from rgd.routers.truth_cluster import GROUP_START, TruthClusterRouter
from rgd.truth import copy_excess, copy_group_weights, estimate_truth_restarts
from tests.rgd.voter_worlds import clone_world, frontier_world, three_voters

K = 4


def _training_set(kind: str, n=1200, seed=0, key_accuracy=None):
    """Two subjects with two topics each (separable embeddings). ``specialists``: model i is right 90% on
    topic i, 40% elsewhere; ``dominant``: model 0 is right 75% everywhere, the others 50% and share errors."""
    rng = np.random.default_rng(seed)
    topic = np.arange(n) % 4
    x = rng.normal(0, 0.3, (n, 8)).astype(np.float32)
    x[np.arange(n), topic] += 3.0
    truth = rng.integers(K, size=n)
    distractor = (truth + rng.integers(1, K, size=n)) % K
    m = 4
    choices = np.empty((m, n), dtype=np.int8)
    for i in range(m):
        if kind == "specialists":
            p = np.where(topic == i, 0.9, 0.4)
        else:
            p = np.full(n, 0.75 if i == 0 else 0.5)
        wrong = np.where((kind == "dominant") & (i > 0) & (rng.random(n) < 0.5), distractor,
                         (truth + rng.integers(1, K, size=n)) % K)
        choices[i] = np.where(rng.random(n) < p, truth, wrong)
    table = ResponseTable(models=tuple(f"m{i}" for i in range(m)), question_ids=tuple(map(str, range(n))),
                          subjects=np.where(topic < 2, "science", "arts"), n_options=np.full(n, K, np.int16),
                          choices=choices, confidence=np.full(choices.shape, np.nan, np.float32),
                          answers=truth.astype(np.int8))
    keys = None
    if key_accuracy is not None:
        keys = np.where(rng.random(n) < key_accuracy, truth, (truth + 1) % K).astype(np.int8)
    consensus = ConsensusScorer().fit_score(table)
    return TrainingSet(table, x, consensus, generator_keys=keys), x, topic, truth


def test_specialists_get_local_routing_and_a_dominant_model_the_whole_pool():
    train, x, topic, _ = _training_set("specialists")
    router = fit_router("truth_cluster", {}, train)
    assert router.level_ != "global"
    assert (router.rank(x)[:, 0] == topic).mean() > 0.9  # each topic goes to its specialist
    train, x, _, _ = _training_set("dominant", seed=1)
    router = fit_router("truth_cluster", {}, train)
    assert router.level_ == "global" and (router.rank(x)[:, 0] == 0).all()


def test_scores_are_shrunk_probabilities_of_being_right():
    train, x, topic, _ = _training_set("specialists", seed=2)
    scores = fit_router("truth_cluster", {"levels": "clusters", "cluster_size": 150}, train).scores(x)
    assert scores.shape == (len(x), 4) and 0 <= scores.min() and scores.max() <= 1
    own = scores[np.arange(len(x)), topic]
    others = (scores.sum(axis=1) - own) / 3
    # the specialist's true accuracy on its topic is 0.9, the others' 0.4: the estimated posterior is soft with
    # 4 voters, so the scores are under-confident (calibration maps them to probabilities: rgd/routers/policy)
    assert own.mean() > others.mean() + 0.05 and own.mean() < 0.95 and others.mean() > 0.3


def test_a_wrong_leader_is_caught_by_the_restart_and_reported(tmp_path):
    # three voters: a strong one with its own errors, and two weak ones that share a wrong answer; from the
    # plain majority EM ranks the middling weak voter first, the restart from the runner-up's side does not
    choices, n_options, truth = three_voters()
    n = len(truth)
    rng = np.random.default_rng(0)
    table = ResponseTable(models=("strong", "middling", "weak"), question_ids=tuple(map(str, range(n))),
                          subjects=np.full(n, "all"), n_options=n_options.astype(np.int16), choices=choices.astype(np.int8),
                          confidence=np.full(choices.shape, np.nan, np.float32), answers=truth.astype(np.int8))
    x = rng.normal(size=(n, 8)).astype(np.float32)
    router = fit_router("truth_cluster", {}, TrainingSet(table, x, ConsensusScorer().fit_score(table)))
    assert router.summary()["truth_start"] == "strong" and (router.rank(x)[:, 0] == 0).all()
    assert Router.load(router.save(tmp_path / "r")).summary()["truth_start"] == "strong"


def test_a_key_is_used_only_when_it_anchors():
    strong, _, _, _ = _training_set("dominant", seed=3, key_accuracy=0.95)
    router = fit_router("truth_cluster", {}, strong)
    assert router.key_anchor_ and router.key_accuracy_ > 0.85
    weak, _, _, _ = _training_set("dominant", seed=3, key_accuracy=0.2)
    with_weak = fit_router("truth_cluster", {}, weak)
    without = fit_router("truth_cluster", {"use_key": False}, weak)
    assert not with_weak.key_anchor_ and with_weak.key_accuracy_ < 0.4
    np.testing.assert_array_equal(with_weak.cluster_scores_, without.cluster_scores_)  # a weak key is dropped


def test_the_true_keys_are_never_read():
    train, x, _, truth = _training_set("specialists", seed=4, key_accuracy=0.9)
    poisoned = TrainingSet(train.table.with_answers((truth + 1) % K), train.embeddings, train.consensus,
                           train.generator_keys)
    a = TruthClusterRouter().fit(train)
    b = TruthClusterRouter().fit(poisoned)  # even fitted directly (fit_router would hide them anyway)
    np.testing.assert_array_equal(a.scores(x), b.scores(x))
    assert a.level_ == b.level_ and np.array_equal(a.criterion_, b.criterion_)
    assert a.summary()["identifiability"] == b.summary()["identifiability"]  # nor by the identifiability flag


def _table_of(choices, truth, n_options, models=None):
    n = len(truth)
    return ResponseTable(models=models or tuple(f"m{i}" for i in range(len(choices))),
                         question_ids=tuple(map(str, range(n))), subjects=np.full(n, "all"),
                         n_options=n_options.astype(np.int16), choices=choices.astype(np.int8),
                         confidence=np.full(choices.shape, np.nan, np.float32), answers=truth.astype(np.int8))


def test_the_copy_model_never_reads_the_true_keys_either():
    choices, _, truth, n_opt = clone_world(1, share=0.32, n_clones=3)  # partial copies: the copy model, no group
    groups = np.zeros(choices.shape[1], dtype=np.int64)
    a = TruthClusterRouter().estimate_votes(_table_of(choices, truth, n_opt), None, groups)
    b = TruthClusterRouter().estimate_votes(_table_of(choices, (truth + 1) % n_opt, n_opt), None, groups)
    assert a.params["copies"] is not None and a.params["voter_weights"] is None
    np.testing.assert_array_equal(a.posterior, b.posterior)
    np.testing.assert_array_equal(a.params["copies"][1], b.params["copies"][1])
    assert a.params["identifiability"] == b.params["identifiability"]


def test_identical_sheets_and_the_one_reference_flag_never_read_the_true_keys_either():
    from tests.rgd.voter_worlds import near_copy_trio

    choices, n_opt, truth = near_copy_trio(0)
    for votes in (choices, np.vstack([choices, choices[1]])):  # a near copy beside one model; and an identical sheet
        groups = np.zeros(votes.shape[1], dtype=np.int64)
        a = TruthClusterRouter().estimate_votes(_table_of(votes, truth, n_opt), None, groups)
        b = TruthClusterRouter().estimate_votes(_table_of(votes, (truth + 1) % n_opt, n_opt), None, groups)
        np.testing.assert_array_equal(a.posterior, b.posterior)
        assert a.params["identifiability"] == b.params["identifiability"]
    assert a.params["voter_weights"] is not None  # the identical sheets counted once


def test_the_keys_restart_reads_the_generators_keys_never_the_true_ones():
    # a crowd of copies and a generator's key: the key's own start wins (rgd.truth.key_start), from the key given
    choices, key, truth, n_opt = clone_world(0, share=0.7, n_clones=3, strong=0.4, key_accuracy=0.7)
    groups = np.zeros(choices.shape[1], dtype=np.int64)
    a = TruthClusterRouter().estimate_votes(_table_of(choices, truth, n_opt), key, groups)
    b = TruthClusterRouter().estimate_votes(_table_of(choices, (truth + 1) % n_opt, n_opt), key, groups)
    assert a.params["start"] == "generator key" == b.params["start"]
    np.testing.assert_array_equal(a.posterior, b.posterior)
    assert a.params["restart_loglik"] == b.params["restart_loglik"]
    assert a.params["identifiability"] == b.params["identifiability"]


def test_save_load_round_trip_and_clear_errors(tmp_path):
    train, x, _, _ = _training_set("specialists", seed=5)
    router = fit_router("truth_cluster", {"levels": "clusters", "cluster_size": 100}, train)
    loaded = Router.load(router.save(tmp_path / "r"))
    np.testing.assert_array_equal(loaded.scores(x), router.scores(x))
    assert loaded.summary()["level"] == "clusters" and loaded.get_params() == router.get_params()
    with pytest.raises(NotFittedError):
        TruthClusterRouter().scores(x)
    with pytest.raises(ParameterError, match="levels"):
        TruthClusterRouter(levels="everywhere")
    with pytest.raises(ParameterError, match="local_margin"):
        TruthClusterRouter(local_margin=1.5)


def test_the_cost_policys_estimate_stays_local_where_the_ranking_must_stay_global(tmp_path):
    train, x, topic, _ = _training_set("specialists")
    # a margin no local routing can clear: the quality ranking is one pool-wide order...
    router = fit_router("truth_cluster", {"local_margin": 0.9}, train)
    assert router.level_ == "global" and len(np.unique(router.rank(x)[:, 0])) == 1
    # ...but the estimate the cost policy calibrates is the criterion's best level: each topic's specialist
    assert router.correctness_level_ != "global"
    assert (router.correctness_scores(x).argmax(axis=1) == topic).mean() > 0.9
    loaded = Router.load(router.save(tmp_path / "r"))
    np.testing.assert_array_equal(loaded.correctness_scores(x), router.correctness_scores(x))
    np.testing.assert_array_equal(loaded.scores(x), router.scores(x))
    # where the ranking is already at the chosen level, the two are the same (nothing extra is stored)
    local = fit_router("truth_cluster", {}, train)
    np.testing.assert_array_equal(local.correctness_scores(x), local.scores(x))
    assert "correctness_centroids.npy" not in {p.name for p in local.save(tmp_path / "l").rglob("*")}


def test_niche_specialists_are_found_by_grouping_the_truth_by_cluster_chosen_on_heldout_votes():
    # two topics per subject, each with its own specialist: one ability per subject cannot tell who is
    # right where the two disagree; per-cluster abilities can, and the held-out likelihood says so
    for seed in (1, 2, 3):
        train, x, topic, truth = _training_set("specialists", seed=seed)
        router = fit_router("truth_cluster", {}, train)
        assert router.truth_grouping_.startswith("clusters:"), router.truth_grouping_loglik_
        assert (router.rank(x)[:, 0] == topic).mean() > 0.9
        by_subject = fit_router("truth_cluster", {"truth_grouping": "subject"}, train)
        assert (by_subject.estimate(train).posterior.argmax(axis=1) == truth).mean() < \
            (router.estimate(train).posterior.argmax(axis=1) == truth).mean() - 0.1
    # a pool whose models are better or worse everywhere keeps its subjects
    train, _, _, _ = _training_set("dominant", seed=1)
    router = fit_router("truth_cluster", {}, train)
    # scored coarse to fine, stopping at the first grouping that does not improve
    assert router.truth_grouping_ == "subject" and list(router.truth_grouping_loglik_) == ["subject", "clusters:150"]
    with pytest.raises(ParameterError, match="truth_grouping"):
        TruthClusterRouter(truth_grouping="topics")


def _voters_table(accs, n, rng):
    truth = rng.integers(K, size=n)
    choices = np.array([np.where(rng.random(n) < a, truth, (truth + rng.integers(1, K, size=n)) % K) for a in accs])
    table = ResponseTable(models=tuple("abcdefgh"[: len(accs)]), question_ids=tuple(map(str, range(n))),
                          subjects=np.full(n, "all"), n_options=np.full(n, K, np.int16),
                          choices=choices.astype(np.int8), confidence=np.full(choices.shape, np.nan, np.float32),
                          answers=truth.astype(np.int8))
    x = rng.normal(size=(n, 8)).astype(np.float32)
    return TrainingSet(table, x, ConsensusScorer().fit_score(table))


def test_the_router_reports_whether_its_top_model_is_identifiable_and_keeps_it(tmp_path):
    rng = np.random.default_rng(7)
    settled = fit_router("truth_cluster", {}, _voters_table((0.75, 0.5, 0.5, 0.5, 0.5, 0.5), 1500, rng))
    ident = settled.summary()["identifiability"]
    assert ident["identifiable"] and ident["leader"] == "a" and "is identifiable" in ident["sentence"]
    # two equally able models: the votes cannot say which one is better
    tied = fit_router("truth_cluster", {}, _voters_table((0.6, 0.6, 0.45, 0.45), 1500, rng))
    summary = tied.summary()["identifiability"]
    assert not summary["identifiable"] and {summary["leader"], summary["runner_up"]} == {"a", "b"}
    assert "NOT identifiable" in summary["sentence"]
    assert Router.load(tied.save(tmp_path / "r")).summary()["identifiability"] == summary
    # a bundle written by other code: a field this code does not know is left, one it lacks takes its default
    meta, arrays = tied._state()
    meta["identifiability"] = {**{k: v for k, v in meta["identifiability"].items() if k != "copy_excess"},
                               "independence": 0.5}
    other = fit_router("truth_cluster", {}, _voters_table((0.6, 0.6, 0.45, 0.45), 300, rng))
    other._load_state(meta, arrays)
    assert other.identifiability_.copy_excess == 0.0 and other.identifiability_.leader == tied.identifiability_.leader


def test_a_local_routing_is_in_doubt_where_the_pool_wide_leader_copies():
    import dataclasses

    router = fit_router("truth_cluster", {}, _training_set("specialists")[0])
    assert router.level_ != "global"
    ident = router.summary()["identifiability"]
    assert ident["identifiable"] and "a choice its label-free criterion made" in ident["sentence"]
    # the same routing, had the leader's errors coincided with another model's as a copy's would: its copy
    # vouches for it in every cluster, so the local wins rest on the same doubtful voter estimates
    router.identifiability_ = dataclasses.replace(router.identifiability_, copy_excess=0.6)
    ident = router.summary()["identifiability"]
    assert not ident["identifiable"] and not ident["top_model_identifiable"]
    assert ident["sentence"].startswith("It routes per skill cluster, but NOT identifiably") and "60%" in ident["sentence"]
    router.identifiability_ = dataclasses.replace(router.identifiability_, copy_excess=0.1, copy_tree=True)
    ident = router.summary()["identifiability"]
    assert not ident["identifiable"] and "chain of partial copies" in ident["sentence"]


def test_a_key_between_the_pools_first_two_is_kept_as_an_arbiter_but_does_not_anchor():
    from rgd.truth import key_is_arbiter

    middle, _, _, _ = _training_set("dominant", seed=8, key_accuracy=0.62)  # m0 0.75, the others 0.5
    router = fit_router("truth_cluster", {}, middle)
    without = fit_router("truth_cluster", {"use_key": False}, middle)
    assert not router.key_anchor_ and 0.5 < router.key_accuracy_ < 0.75
    assert not np.array_equal(router.cluster_scores_, without.cluster_scores_)  # the key voted
    est = router.estimate(middle)
    assert key_is_arbiter(est) and est.key_accuracy is not None


def test_the_training_estimates_voter_parameters_are_kept_for_the_gateways_monitor(tmp_path):
    from rgd.serving.monitor import training_voters

    router = fit_router("truth_cluster", {}, _voters_table((0.75, 0.5, 0.5, 0.5), 1200, np.random.default_rng(3)))
    rho = router.voter_rho_
    assert rho.shape == (4,) and ((0.02 <= rho) & (rho <= 0.98)).all()
    voters = training_voters(Router.load(router.save(tmp_path / "r")))
    assert np.array_equal(voters.rho, rho) and np.array_equal(voters.accuracy, router.cluster_scores_)
    assert voters.accuracy[:, 0].min() > voters.accuracy[:, 1:].max()  # the able model is the one trusted
    meta, arrays = router._state()  # a bundle written before the rates were kept: uniform errors
    router._load_state(meta, {k: v for k, v in arrays.items() if k != "voter_rho"})
    assert training_voters(router).rho is None
    assert training_voters(fit_router("best_single", {}, _voters_table((0.7, 0.5), 200, np.random.default_rng(4)))) is None


def test_a_crowd_of_copies_shares_one_vote_and_the_strong_model_is_routed_to():
    choices, _, truth, n_options = clone_world(0, n_questions=2000)  # model 1 and its two copies (3, 4), model 0 strong
    table = _table_of(choices, truth, n_options, ("strong", "source", "other", "copy1", "copy2"))
    train = TrainingSet(table, np.random.default_rng(0).normal(size=(len(truth), 8)).astype(np.float32),
                        ConsensusScorer().fit_score(table))
    grouped = fit_router("truth_cluster", {}, train)
    assert (grouped.rank(train.embeddings)[:, 0] == 0).all()
    # no key: the copy model keeps the fit started where the group counts once, its likelihood being higher
    assert grouped.truth_start_ == GROUP_START
    # without copy groups the copies vouch for their source, which is routed to
    plain = fit_router("truth_cluster", {"copy_groups": False}, train)
    assert (plain.rank(train.embeddings)[:, 0] == 1).all()


@pytest.mark.parametrize("seed", [1])  # a draw where the copy model alone ranks the weak source first
def test_partial_copies_too_weak_for_a_group_still_give_the_copy_models_trees_a_start_of_their_own(seed):
    choices, _, truth, n_options = clone_world(seed, share=0.32, n_clones=3)  # model 1 and three 32% copies of it
    assert copy_group_weights(copy_excess(choices)) is None  # no pair reaches the copy level
    est = TruthClusterRouter().estimate_votes(_table_of(choices, truth, n_options), None, np.full(len(truth), "all"))
    assert est.params["start"] == GROUP_START and int(np.argmax(est.accuracy)) == 0  # the strong model
    # the cost: that fixed point rates the strong model near always right (true 0.6), a ranking, not a level
    assert est.accuracy[0] > 0.85
    # and which model leads rests on the copies' discount: not settled, the usual starts' leader the other contender
    ident = est.params["identifiability"]
    assert ident.start_rival and not ident.identifiable and ident.contenders == (0, est.params["start_rival"])
    assert est.params["start_rival"] == 1  # the copies' source, which the copy model alone ranks first
    sentence = ident.sentence([f"m{i}" for i in range(len(choices))])
    assert "NOT identifiable" in sentence and "count once" in sentence and "m1" in sentence


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strong_models_right_together_are_not_outvoted_as_a_copy_group_without_a_key(seed):
    choices, n_options, truth = frontier_world(seed)  # three strong models (0.85, 0.8, 0.75), four weak ones
    weights = copy_group_weights(copy_excess(choices))
    assert weights is not None and (weights[:3] < 1).all() and (weights[3:] == 1).all()  # they look like copies
    shared = estimate_truth_restarts(choices, n_options, voter_weights=weights)
    assert int(np.argmax(shared.accuracy)) >= 3  # sharing one vote would hand the pool to a weak model
    est = TruthClusterRouter().estimate_votes(_table_of(choices, truth, n_options), None, np.full(len(truth), "all"))
    assert int(np.argmax(est.accuracy)) in (0, 1) and est.params["start"] != GROUP_START
    assert est.params["copies"] is not None  # fitted as partial copies instead, which being right explains
