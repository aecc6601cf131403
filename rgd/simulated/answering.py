"""The vectorised answer model shared by simulated pool models and generators' self-answers.

P(correct) = logistic(slope * (skill[niche] - difficulty)); too-easy questions are always right, too-hard
ones are pure guesses. A wrong answer is the question's shared distractor with the model's distractor bias,
else another wrong option. Confidence (mean token log-probability) is higher when right, with a per-model
offset and noise scale (the negative log-probability is log-normal) so that per-model z-scoring matters. Every draw is keyed by (model key, question hash).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rgd.simulated.randomness import combine, keyed_normal, keyed_uniform
from rgd.simulated.registry import TOO_EASY, TOO_HARD, LatentArrays

_S_CORRECT, _S_DISTRACT, _S_OTHER, _S_CONF, _S_GUESS = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class AnswerParams:
    """Parameters of ``M`` answering models, stacked."""

    keys: np.ndarray  # (M,) uint64 random keys
    skill: np.ndarray  # (M, n_niches)
    slope: np.ndarray  # (M,)
    distractor_bias: np.ndarray  # (M,)
    conf_right: np.ndarray  # (M,) typical log-prob when right (< 0), before the model's offset
    conf_wrong: np.ndarray  # (M,)
    conf_sd: np.ndarray  # (M,) noise sd of log(-logprob)
    conf_offset: np.ndarray  # (M,) added to log(-logprob)
    conf_scale: np.ndarray  # (M,)

    def __getitem__(self, idx) -> AnswerParams:
        idx = np.atleast_1d(np.asarray(idx))
        return AnswerParams(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def p_correct(params: AnswerParams, la: LatentArrays) -> np.ndarray:
    """(M, Q) probability of a right answer."""
    logit = params.slope[:, None] * (params.skill[:, la.niche] - la.difficulty[None, :])
    p = 1.0 / (1.0 + np.exp(-logit))
    p = np.where(la.kind[None, :] == TOO_EASY, 1.0, p)
    return np.where(la.kind[None, :] == TOO_HARD, 1.0 / la.n_options[None, :], p)


def pick_other_wrong(u: np.ndarray, key: np.ndarray, distractor: np.ndarray, n_options: np.ndarray) -> np.ndarray:
    """An option that is neither the key nor the distractor, uniformly from ``u`` in [0, 1)."""
    n_other = np.maximum(n_options - 2, 1)
    r = np.minimum((u * n_other).astype(np.int64), n_other - 1)
    lo, hi = np.minimum(key, distractor), np.maximum(key, distractor)
    r = r + (r >= lo)
    r = r + (r >= hi)
    return np.where(n_options > 2, r, distractor)


def simulate_answers(params: AnswerParams, la: LatentArrays) -> tuple[np.ndarray, np.ndarray]:
    """(choices (M, Q) int64, confidence (M, Q) float32) for ``M`` models on ``Q`` questions."""
    keys = combine(params.keys[:, None], la.qhash[None, :])  # (M, Q)
    p = p_correct(params, la)
    key, distractor, n_opt = la.key[None, :], la.distractor[None, :], la.n_options[None, :]
    right = keyed_uniform(keys, _S_CORRECT) < p
    use_distractor = keyed_uniform(keys, _S_DISTRACT) < params.distractor_bias[:, None]
    other = pick_other_wrong(keyed_uniform(keys, _S_OTHER), key, distractor, n_opt)
    wrong_choice = np.where(use_distractor, distractor, other)
    choices = np.where(right, key, wrong_choice)
    guess = la.kind[None, :] == TOO_HARD
    if guess.any():  # nobody can solve it: a uniform guess over all options
        g = np.minimum((keyed_uniform(keys, _S_GUESS) * n_opt).astype(np.int64), n_opt - 1)
        choices = np.where(guess, g, choices)
    correct = choices == key
    base = np.where(correct & ~guess, params.conf_right[:, None], params.conf_wrong[:, None])
    # negative log-probability is log-normal: per-model offset (log scale) and noise scale
    log_nlp = np.log(-base) + params.conf_offset[:, None] + params.conf_scale[:, None] * params.conf_sd[:, None] * (
        keyed_normal(keys, _S_CONF)
    )
    return choices, (-np.exp(log_nlp)).astype(np.float32)
