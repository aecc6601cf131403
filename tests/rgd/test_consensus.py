import numpy as np
import pytest

from rgd.consensus import MAD_TO_SIGMA, ConsensusScorer
from rgd.data.response_table import ResponseTable


def table(choices, confidence=None, n_options=4):
    choices = np.asarray(choices, dtype=np.int8)
    m, q = choices.shape
    conf = np.full((m, q), np.nan, np.float32) if confidence is None else np.asarray(confidence, np.float32)
    return ResponseTable(
        models=tuple(f"m{i}" for i in range(m)),
        question_ids=tuple(f"q{j}" for j in range(q)),
        subjects=np.array(["s"] * q),
        n_options=np.full(q, n_options, np.int16),
        choices=choices,
        confidence=conf,
        answers=np.full(q, -1, np.int8),
    )


def test_uniform_vote_without_confidence():
    t = table([[0, 1], [0, 2], [1, -1]])
    c = ConsensusScorer().fit_score(t)
    assert c.majority.tolist() == [0, 1] or c.majority[1] in (1, 2)
    # question 0: votes A=2, B=1 -> softmax over 4 options of (2, 1, 0, 0)
    expected = np.exp([2, 1, 0, 0]) / np.exp([2, 1, 0, 0]).sum()
    assert np.allclose(c.posterior[0], expected, atol=1e-6)
    assert np.isclose(c.scores[0, 0], expected[0]) and np.isclose(c.scores[2, 0], expected[1])
    assert c.scores[2, 1] == 0  # did not answer: no vote, score 0
    assert np.isclose(c.agreement[0], 2 / 3)


def test_posterior_only_over_existing_options():
    t = table([[0], [0]], n_options=2)
    c = ConsensusScorer().fit_score(t)
    assert c.posterior.shape[1] == 2 and np.isclose(c.posterior[0].sum(), 1)


def test_confident_minority_can_outvote():
    # models 0 and 1 say A with low confidence; model 2 says B very confidently on question 0.
    conf = np.array([[-2.0, -0.5, -0.5, -0.5], [-2.0, -0.5, -0.5, -0.5], [-0.01, -0.5, -0.6, -0.4]])
    choices = [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    scorer = ConsensusScorer().fit(table(choices, conf))
    z = scorer.zscores(table(choices, conf))
    # robust z: median -0.5, MAD 0 for models 0 and 1 -> falls back to std
    std0 = np.std([-2.0, -0.5, -0.5, -0.5])
    assert np.isclose(z[0, 0], (-2.0 + 0.5) / std0, atol=1e-5)
    med2 = np.median(conf[2])
    mad2 = MAD_TO_SIGMA * np.median(np.abs(conf[2] - med2))
    assert np.isclose(z[2, 0], (-0.01 - med2) / mad2, atol=1e-4)
    c = scorer.score(table(choices, conf))
    assert c.majority[0] == 1  # 0.99 (clamped) beats 2 x 0.01 (clamped)
    assert np.all((c.weights >= 0.01) & (c.weights <= 0.99))


def test_statistics_from_training_are_kept_for_test():
    train = table([[0, 0, 0]], [[-1.0, -0.5, -0.2]])
    scorer = ConsensusScorer().fit(train)
    d = ConsensusScorer.from_dict(scorer.to_dict())
    test = table([[0]], [[-0.5]])
    assert np.allclose(d.zscores(test), scorer.zscores(test))
    assert scorer.zscores(test)[0, 0] == 0  # the training median


def test_pool_mismatch_is_refused():
    scorer = ConsensusScorer().fit(table([[0], [1]]))
    with pytest.raises(ValueError, match="differs from the fitted pool"):
        scorer.score(table([[0]]))


def test_vectorised_on_a_large_pool():
    rng = np.random.default_rng(0)
    t = table(rng.integers(-1, 4, size=(12, 50_000)), rng.normal(-0.5, 0.2, size=(12, 50_000)))
    c = ConsensusScorer().fit_score(t)
    assert c.scores.shape == (12, 50_000)
    assert np.allclose(c.posterior.sum(axis=1), 1, atol=1e-5)


def _crowd_with_shared_distractor(q: int = 600, seed: int = 0):
    """8 options, key 0: 3 strong models (right 80%) and 6 weak ones (right 20%, the shared distractor 1 half
    the time, else a scattered wrong option)."""
    rng = np.random.default_rng(seed)
    key = np.zeros(q, dtype=int)
    strong = np.where(rng.random((3, q)) < 0.8, key, 2 + rng.integers(0, 6, (3, q)))
    u = rng.random((6, q))
    weak = np.where(u < 0.2, key, np.where(u < 0.7, 1, 2 + rng.integers(0, 6, (6, q))))
    return np.vstack([strong, weak])


def test_strongest_voters_outvote_a_shared_distractor():
    choices = _crowd_with_shared_distractor()
    t = table(choices, n_options=8)
    everyone = ConsensusScorer().fit_score(t)
    assert (everyone.majority == 0).mean() < 0.7  # the weak models' shared distractor often wins
    scorer = ConsensusScorer(n_voters=3).fit(t)
    assert scorer.voters_.tolist() == [True] * 3 + [False] * 6
    strongest = scorer.score(t)
    assert (strongest.majority == 0).mean() > 0.85
    assert strongest.scores.shape == (9, 600) and (strongest.scores[3:] > 0).any()  # non-voters are still scored
    assert ConsensusScorer(n_voters=1 / 3).fit(t).voters_.sum() == 3  # a share of the pool
    assert (scorer.all_voters().score(t).majority == everyone.majority).all()


def test_voters_per_subject_and_round_trip():
    a, b = _crowd_with_shared_distractor(seed=1), _crowd_with_shared_distractor(seed=2)
    b = b[[3, 4, 5, 0, 1, 2, 6, 7, 8]]  # in subject "b" the strong models are 3, 4, 5
    choices = np.hstack([a, b])
    t = table(choices, n_options=8)
    t = ResponseTable(t.models, t.question_ids, np.array(["a"] * 600 + ["b"] * 600), t.n_options, t.choices,
                      t.confidence, t.answers)
    scorer = ConsensusScorer(n_voters=3, voter_scope="subject").fit(t)
    assert np.flatnonzero(scorer.subject_voters_["a"]).tolist() == [0, 1, 2]
    assert np.flatnonzero(scorer.subject_voters_["b"]).tolist() == [3, 4, 5]
    assert (scorer.score(t).majority == 0).mean() > 0.85
    again = ConsensusScorer.from_dict(scorer.to_dict())
    assert np.array_equal(again.score(t).majority, scorer.score(t).majority)


def test_bad_voter_settings():
    with pytest.raises(ValueError, match="n_voters"):
        ConsensusScorer(n_voters=0)
    with pytest.raises(ValueError, match="voter_scope"):
        ConsensusScorer(voter_scope="model")


def test_not_fitted_is_the_one_library_error():
    from rgd.errors import NotFittedError, fitted_attributes

    scorer = ConsensusScorer()
    assert fitted_attributes(scorer) == []
    t = table([[0, 1], [0, 2]])
    for call in (lambda: scorer.score(t), lambda: scorer.zscores(t), lambda: scorer.voter_mask(t),
                 scorer.to_dict, scorer.all_voters):
        with pytest.raises(NotFittedError, match="ConsensusScorer is not fitted: call fit"):
            call()
    assert sorted(fitted_attributes(scorer.fit(t))) == ["center_", "models_", "scale_", "subject_voters_", "voters_"]
