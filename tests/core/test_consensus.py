import numpy as np
import pytest

from rgd.consensus import MAD_TO_SIGMA, ConsensusScorer
from rgd.response_table import ResponseTable


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
