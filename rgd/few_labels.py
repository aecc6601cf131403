"""The fewest labels that settle who the pool's best model is (an opt-in mode; label-free stays the default).

When the label-free estimate cannot single out the best model (:func:`rgd.truth.identifiability`), a user who
can label a handful of questions settles it: :func:`questions_to_ask` picks at most ``n`` questions where the
contenders do not all answer alike, at random among those (on questions where
they all give the same answer, a label cannot tell them apart); :func:`decide` reads the keys the user gave
and names the candidate right on the most of them. Where the label-free choice was identifiable, the labels
overturn it only beyond chance (a one-sided sign test at :data:`SIGNIFICANCE` on the labelled questions where
exactly one of the two is right): 30 labels tell a 0.70 model from a 0.42 one, not a 0.52 one from a 0.49 one,
and a settled leader should not lose its place to the luck of the draw; a choice the votes could not settle is
the labels' to make. The labels are the user's own, given on purpose: nothing here reads a key the user did not
supply.

The contenders are :attr:`rgd.truth.Identifiability.contenders`: the leader and the runner-up, the two the
estimate could not tell apart, or, when the leader copies another model's errors (:func:`rgd.truth.copy_excess`),
the leader and the first-ranked model that copies nobody (where every model copies, the first-ranked one outside
the leader's copy tree that is no near-copy of it). Two, as a rule: measured (benchmarks/README.md), with 30 labels
a third candidate dilutes the questions that separate the first two and loses more pools than it rescues. The one
exception, also measured: a copying leader whose runner-up's one near-copy is the leader itself (a strong model
right where it is right, or its clone, which the votes cannot tell apart); the labels then meet the leader, the
runner-up and the alternative.

Where the router routes locally (per subject or skill cluster), the labels meet what would be served: the routing
itself (:func:`routed_answers`: each question answered by the model it is routed to) is the first contender. On a
settled pool-wide leader it meets that leader: the votes settled who is best pool-wide, not whether the local
routing's label-free gains are real, and a local routing can lose where its criterion saw a gain (measured on the
stress, random and frontier suites, benchmarks/README.md). Those gains rest on the crowd's estimate, so the labels'
majority decides, unless a generator's key anchored the estimate (an arbiter the labels only sample): then the
routing is overturned only beyond chance. Where the leader copies, its local wins are in doubt too, and the
routing meets the contenders above, the labels' pick taking it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rgd.errors import DataError, ParameterError

#: the default number of questions asked (issue 23: at most 30)
DEFAULT_QUESTIONS = 30
#: what the router's local routing is called among the contenders (:func:`routed_answers`)
ROUTING = "local routing"
#: the labels overturn the label-free leader only when the chance of its doing this badly against the challenger,
#: were the two equally good, is below this (one-sided sign test)
SIGNIFICANCE = 0.05


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


def routed_answers(choices: np.ndarray, routed: np.ndarray) -> np.ndarray:
    """(Q,) a routing's answers: on each question, the answer of the model it is routed to (``routed``, (Q,)
    model indices into ``choices``' rows)."""
    routed = np.asarray(routed)
    return np.asarray(choices)[routed, np.arange(len(routed))]


@dataclass(frozen=True)
class Decision:
    """Which candidate the labels favour, with each candidate's count of right answers on them."""

    leader: int
    label_free_leader: int
    correct: dict[int, int]
    n_labels: int
    #: the candidate right on the most labels, and the sign test's p-value of its lead over the label-free leader
    favoured: int
    p_value: float

    @property
    def changed(self) -> bool:
        return self.leader != self.label_free_leader


def decide(choices: np.ndarray, competing: np.ndarray, questions: np.ndarray, keys: np.ndarray,
           settled: bool = False) -> Decision:
    """The candidate right on the most labelled ``questions`` (``keys``: the user's key per question, -1 = not
    given; ties go to the earlier candidate of ``competing``, the label-free order). Where the label-free choice
    was not identifiable it takes the lead; where it was ``settled``, only when it beats ``competing[0]``, the
    label-free leader, beyond chance: on the labelled questions where exactly one of the two is right, the
    challenger is right on so many that two equally good models would do so with probability below
    :data:`SIGNIFICANCE`."""
    keys = np.asarray(keys)
    questions = np.asarray(questions)
    if keys.shape != questions.shape:
        raise ParameterError(f"one key per question: {questions.shape} questions, {keys.shape} keys")
    given = keys >= 0
    if not given.any():
        raise DataError("no key was given for any of the questions asked; fill in the keys and run again")
    right_each = np.asarray(choices)[np.asarray(competing)][:, questions[given]] == keys[given][None, :]
    right = right_each.sum(axis=1)
    best = int(np.flatnonzero(right == right.max())[0])
    wins = int((right_each[best] & ~right_each[0]).sum())
    losses = int((right_each[0] & ~right_each[best]).sum())
    p = sign_test(wins, losses) if best else 1.0
    leader = best if p < (SIGNIFICANCE if settled else 1.0) else 0
    return Decision(int(competing[leader]), int(competing[0]), {int(m): int(k) for m, k in zip(competing, right)},
                    int(given.sum()), int(competing[best]), p)


def sign_test(wins: int, losses: int) -> float:
    """One-sided p-value of at least ``wins`` successes in ``wins + losses`` fair coin flips."""
    n = wins + losses
    return float(sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n) if n else 1.0
