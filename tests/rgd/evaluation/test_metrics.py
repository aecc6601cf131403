import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.evaluation.label_noise import corrupt_keys
from rgd.evaluation.metrics import top3_vote


def table(choices, answers):
    choices = np.asarray(choices, dtype=np.int8)
    m, q = choices.shape
    return ResponseTable(
        models=tuple(f"m{i}" for i in range(m)),
        question_ids=tuple(f"q{j}" for j in range(q)),
        subjects=np.array(["s"] * q),
        n_options=np.full(q, 5, np.int16),
        choices=choices,
        confidence=np.full((m, q), np.nan, np.float32),
        answers=np.asarray(answers, np.int8),
    )


def test_top3_vote_rules():
    # columns: majority of 3; 1st+3rd agree; 2nd+3rd agree; all differ; 2nd and 3rd did not answer
    t = table([[0, 1, 2, 0, 3], [0, 2, 1, 1, -1], [0, 1, 1, 2, -1], [4, 4, 4, 4, 4]], [0, 0, 0, 0, 0])
    ranks = np.tile([0, 1, 2, 3], (5, 1))
    z = np.zeros((4, 5), np.float32)
    assert top3_vote(ranks, t, z).tolist() == [0, 1, 1, 0, 3]
    z[2, 3] = 2.0  # all differ: the most confident (by z-score) wins
    assert top3_vote(ranks, t, z)[3] == 2


def test_top3_vote_follows_ranking():
    t = table([[0], [1], [1], [2]], [1])
    assert top3_vote(np.array([[3, 0, 1, 2]]), t, np.zeros((4, 1), np.float32)).tolist() == [3 - 1]  # 3,0,1 differ -> first (m3 chose 2)
    assert top3_vote(np.array([[0, 1, 2, 3]]), t, np.zeros((4, 1), np.float32)).tolist() == [1]


def test_label_noise_plausible_and_uniform():
    rng = np.random.default_rng(1)
    q = 2000
    answers = rng.integers(0, 5, q)
    distractor = (answers + 2) % 5
    choices = np.vstack([answers, distractor, distractor, rng.integers(0, 5, q)])
    t = table(choices, answers)
    noisy = corrupt_keys(t, 0.4, "plausible", seed=3)
    flipped = noisy.answers != t.answers
    assert 0.36 < flipped.mean() < 0.44
    assert (noisy.answers[flipped] == distractor[flipped]).all()  # the wrong option the pool chose most
    uni = corrupt_keys(t, 0.4, "uniform", seed=3)
    f2 = uni.answers != t.answers
    assert 0.36 < f2.mean() < 0.44 and (uni.answers < 5).all()
    assert (uni.answers[f2] == distractor[f2]).mean() < 0.4  # spread over the 4 wrong options
    assert (corrupt_keys(t, 0.0).answers == t.answers).all()
