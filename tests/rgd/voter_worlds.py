"""Synthetic voter worlds shared by the truth-estimate and router tests."""

from __future__ import annotations

import numpy as np


def three_voters(n=3000, seed=0, options=10):
    """(choices, n_options, truth): a strong voter (0.7, idiosyncratic errors), a middling one (0.42) and a weak
    one (0.2, 15% unanswered) whose errors fall on one shared distractor, so the two weak voters agree with each
    other on wrong answers. From the plain majority EM ranks the middling voter first."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(options, size=n)
    distractor = (truth + rng.integers(1, options, size=n)) % options

    def wrong():
        return (truth + rng.integers(1, options, size=n)) % options

    choices = np.empty((3, n), dtype=np.int64)
    choices[0] = np.where(rng.random(n) < 0.7, truth, wrong())
    for v, p in ((1, 0.42), (2, 0.2)):
        choices[v] = np.where(rng.random(n) < p, truth, np.where(rng.random(n) < 0.6, distractor, wrong()))
    choices[2] = np.where(rng.random(n) < 0.15, -1, choices[2])
    return choices, np.full(n, options), truth


def _distractor_world(seed, n_questions, n_options):
    """(rng, truth, model): seeded true keys and ``model(accuracy, rho)``, a voter right with probability ``accuracy``
    whose errors go to the question's popular distractor with probability ``rho``, else to another wrong option."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_options, n_questions)
    distractor = (truth + 1 + rng.integers(0, n_options - 1, n_questions)) % n_options

    def model(accuracy, rho=0.3):
        wrong = np.where(rng.random(n_questions) < rho, distractor,
                         (truth + 1 + rng.integers(0, n_options - 1, n_questions)) % n_options)
        return np.where(rng.random(n_questions) < accuracy, truth, wrong)

    return rng, truth, model


def clone_world(seed, n_questions=3000, n_options=10, n_clones=2, share=0.5, key_accuracy=0.75, strong=0.6):
    """A strong model among weak ones, two of which are partial copies of one weak model (``share`` of its
    answers, right or wrong); errors go to a popular distractor 30% of the time; a generator key outside it."""
    rng, truth, model = _distractor_world(seed, n_questions, n_options)
    strong, weak, other = model(strong), model(0.35), model(0.3)
    clones = [np.where(rng.random(n_questions) < share, weak, model(0.35)) for _ in range(n_clones)]
    return np.array([strong, weak, other, *clones]), model(key_accuracy), truth, np.full(n_questions, n_options)


def family_world(seed, n_questions=3000, n_options=10, shares=(0.32, 0.59)):
    """(choices, n_options, truth): one strong model (0.55) beside a family, a weak base model (0.2) and two partial
    copies of it (``shares`` of its answers, otherwise their own at 0.35): seen through the strong model, every
    pair is a pair of the family. Errors go to a popular distractor 30% of the time."""
    rng, truth, model = _distractor_world(seed, n_questions, n_options)
    strong, weak = model(0.55), model(0.2)
    clones = [np.where(rng.random(n_questions) < s, weak, model(0.35)) for s in shares]
    return np.array([strong, weak, *clones]), np.full(n_questions, n_options), truth


def frontier_world(seed, n_questions=3000, n_options=10, strong=(0.85, 0.8, 0.75), weak=(0.4, 0.35, 0.3, 0.3)):
    """(choices, n_options, truth): several strong models right together, their errors at random over the
    questions (so no reference is right where they are wrong together), among weak ones whose errors go to a
    popular distractor 40% of the time."""
    _, truth, model = _distractor_world(seed, n_questions, n_options)
    rows = [model(a, 0.3) for a in strong] + [model(a, 0.4) for a in weak]
    return np.array(rows), np.full(n_questions, n_options), truth


def partner_world(seed, n_questions=3000, n_options=10, partner_share=0.3, copy_share=0.6, n_clones=3):
    """(choices, n_options, truth): a weak model (0.35) with ``n_clones`` near copies of it (``copy_share`` of its
    answers) and a strong model (0.6 on its own) that gives the weak model's answer on ``partner_share`` of the
    questions: every other model is the weak one's copy, the strong one only part of the way to one."""
    rng, truth, model = _distractor_world(seed, n_questions, n_options)
    weak = model(0.35)
    strong = np.where(rng.random(n_questions) < partner_share, weak, model(0.6))
    clones = [np.where(rng.random(n_questions) < copy_share, weak, model(0.35)) for _ in range(n_clones)]
    return np.array([strong, weak, *clones]), np.full(n_questions, n_options), truth


def near_copy_trio(seed, n_questions=3000, n_options=10, share=0.9):
    """(choices, n_options, truth): a pool of three, a strong model (0.6), a weak one (0.35) and a near copy of
    the weak one (``share`` of its answers, as a quantised variant gives): each pair is seen through one model."""
    rng, truth, model = _distractor_world(seed, n_questions, n_options)
    weak, strong = model(0.35), model(0.6)
    copy = np.where(rng.random(n_questions) < share, weak, model(0.35))
    return np.array([strong, weak, copy]), np.full(n_questions, n_options), truth
