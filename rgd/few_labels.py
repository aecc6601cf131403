"""The fewest labels that settle who the pool's best model is (an opt-in mode; label-free stays the default).

When the label-free estimate cannot single out the best model (:func:`rgd.truth.identifiability`), a user who
can label a handful of questions settles it: :func:`questions_to_ask` picks at most ``n`` questions where the
two contenders answer differently, at random among those (on questions where
they all give the same answer, a label cannot tell them apart); :func:`decide` reads the keys the user gave
and names the candidate right on the most of them, the label-free order breaking ties. The labels are the
user's own, given on purpose: nothing here reads a key the user did not supply.

The contenders are :attr:`rgd.truth.Identifiability.contenders`: the leader and the runner-up, the two the
estimate could not tell apart, or, when the leader copies another model's errors (:func:`rgd.truth.copy_excess`),
the leader and the first-ranked model that copies nobody. Two, not more: measured (benchmarks/README.md), with 30 labels a third candidate dilutes the
questions that separate the first two and loses more pools than it rescues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rgd.errors import DataError, ParameterError

#: the default number of questions asked (issue 23: at most 30)
DEFAULT_QUESTIONS = 30


def questions_to_ask(choices: np.ndarray, competing: np.ndarray, n: int = DEFAULT_QUESTIONS,
                     seed: int = 0) -> np.ndarray:
    """(k <= n,) sorted question indices where the ``competing`` models do not all give the same answer (a
    missing answer counts as an answer of its own: it is wrong whatever the key), drawn at random among them."""
    if n < 1:
        raise ParameterError(f"the number of questions to label must be >= 1, got {n}")
    c = np.asarray(choices)[np.asarray(competing)]
    contested = np.flatnonzero((c != c[:1]).any(axis=0))
    rng = np.random.default_rng([seed, 0xC4EC])
    return np.sort(rng.permutation(contested)[:n])


@dataclass(frozen=True)
class Decision:
    """Which candidate the labels favour, with each candidate's count of right answers on them."""

    leader: int
    label_free_leader: int
    correct: dict[int, int]
    n_labels: int

    @property
    def changed(self) -> bool:
        return self.leader != self.label_free_leader


def decide(choices: np.ndarray, competing: np.ndarray, questions: np.ndarray, keys: np.ndarray) -> Decision:
    """The candidate right on the most labelled ``questions`` (``keys``: the user's key per question, -1 = not
    given); ties go to the earlier candidate of ``competing`` (the label-free order)."""
    keys = np.asarray(keys)
    questions = np.asarray(questions)
    if keys.shape != questions.shape:
        raise ParameterError(f"one key per question: {questions.shape} questions, {keys.shape} keys")
    given = keys >= 0
    if not given.any():
        raise DataError("no key was given for any of the questions asked; fill in the keys and run again")
    c = np.asarray(choices)[np.asarray(competing)][:, questions[given]]
    right = (c == keys[given][None, :]).sum(axis=1)
    best = int(np.flatnonzero(right == right.max())[0])
    return Decision(int(competing[best]), int(competing[0]), {int(m): int(k) for m, k in zip(competing, right)},
                    int(given.sum()))
