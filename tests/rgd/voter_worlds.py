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
