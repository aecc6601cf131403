"""Wrong answer keys on purpose: what query-answer routers see when a weak generator writes the keys."""

from __future__ import annotations

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError

NOISE_KINDS = ("plausible", "uniform")


def corrupt_keys(table: ResponseTable, p: float, kind: str = "plausible", seed: int = 0) -> ResponseTable:
    """Replace each key, with probability ``p``, by a wrong option.

    ``uniform`` picks a random other option; ``plausible`` the wrong option the pool chose most often (a weak
    generator errs like weak models do), or a random other option when nobody chose a wrong one.
    """
    if not 0 <= p <= 1:
        raise ParameterError(f"label noise must lie in [0, 1], got {p}")
    if kind not in NOISE_KINDS:
        raise ParameterError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")
    keyed = table.answers >= 0
    if not keyed.any():
        raise ParameterError("label noise needs answer keys; no question has one")
    rng = np.random.default_rng(seed)
    q = table.n_questions
    keys = table.answers.astype(np.int64)
    n_opt = table.n_options.astype(np.int64)
    flip = (rng.random(q) < p) & (n_opt > 1) & keyed  # a question without a key stays without one

    # a uniformly random other option: shift the key by 1..n-1 places
    shift = 1 + (rng.random(q) * np.maximum(n_opt - 1, 1)).astype(np.int64)
    wrong = (keys + shift) % np.maximum(n_opt, 1)
    if kind == "plausible":
        counts = np.zeros((q, table.max_options), dtype=np.int64)
        answered = table.choices >= 0
        cols = np.broadcast_to(np.arange(q), table.choices.shape)
        np.add.at(counts, (cols[answered], table.choices[answered].astype(np.int64)), 1)
        counts[np.arange(q)[keyed], keys[keyed]] = -1  # the key is not a wrong option
        counts = counts + rng.random(counts.shape) * 0.5  # break ties at random
        best = counts.argmax(axis=1)
        someone = counts[np.arange(q), best] >= 1
        wrong = np.where(someone, best, wrong)
    return table.with_answers(np.where(flip, wrong, keys))
