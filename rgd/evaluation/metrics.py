"""Evaluate routers on a labelled test set: top-1 accuracy and top-3 consensus-vote accuracy.

* top-1: the answer of the first-ranked model.
* top-3 vote: the majority of the three first-ranked models; when all three differ, the most confident one
  by its z-scored confidence (the first-ranked when confidences are unknown or tied).
Reference points that are not routers: the majority vote of the whole pool and the oracle (any model right).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rgd.consensus import ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.routers.base import Router


def chosen_by(ranks: np.ndarray, table: ResponseTable, depth: int) -> np.ndarray:
    """(depth, n) option chosen by each query's first ``depth`` ranked models."""
    cols = np.arange(table.n_questions)
    return table.choices[ranks[:, :depth].T, cols[None, :]]


def top3_vote(ranks: np.ndarray, table: ResponseTable, z: np.ndarray) -> np.ndarray:
    """(n,) option picked by the vote of the three first-ranked models (see module doc)."""
    if ranks.shape[1] < 3:
        return chosen_by(ranks, table, 1)[0]
    c = chosen_by(ranks, table, 3)  # (3, n)
    cols = np.arange(table.n_questions)
    conf = z[ranks[:, :3].T, cols[None, :]]  # (3, n)
    conf = np.where(c >= 0, conf, -np.inf)  # an unanswered vote is never the most confident
    valid = c >= 0
    pick = np.take_along_axis(c, np.argmax(conf, axis=0)[None, :], axis=0)[0]
    pick = np.where(valid[1] & (c[1] == c[2]), c[1], pick)
    pick = np.where(valid[0] & ((c[0] == c[1]) | (c[0] == c[2])), c[0], pick)
    return pick


@dataclass
class RouterEvaluation:
    top1: float
    top3_vote: float
    per_subject: dict[str, dict[str, float]] = field(default_factory=dict)
    route_seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"top1": self.top1, "top3_vote": self.top3_vote, "per_subject": self.per_subject}


def _per_subject(table: ResponseTable, top1: np.ndarray, top3: np.ndarray) -> dict[str, dict[str, float]]:
    subjects, inverse = np.unique(table.subjects, return_inverse=True)
    counts = np.bincount(inverse)
    t1 = np.bincount(inverse, weights=top1) / counts
    t3 = np.bincount(inverse, weights=top3) / counts
    return {
        str(s): {"top1": float(a), "top3_vote": float(b), "n": int(n)} for s, a, b, n in zip(subjects, t1, t3, counts)
    }


def evaluate_ranks(ranks: np.ndarray, table: ResponseTable, z: np.ndarray) -> RouterEvaluation:
    answers = table.answers
    top1 = chosen_by(ranks, table, 1)[0] == answers
    top3 = top3_vote(ranks, table, z) == answers
    return RouterEvaluation(float(top1.mean()), float(top3.mean()), _per_subject(table, top1, top3))


def evaluate_choice(choice: np.ndarray, table: ResponseTable) -> RouterEvaluation:
    """A reference point that picks one option per question (its top-1 and top-3 are the same)."""
    ok = choice == table.answers
    return RouterEvaluation(float(ok.mean()), float(ok.mean()), _per_subject(table, ok, ok))


def evaluate_routers(
    routers: dict[str, Router],
    table: ResponseTable,
    embeddings: np.ndarray,
    scorer: ConsensusScorer,
) -> dict[str, RouterEvaluation]:
    """Evaluate fitted routers on a labelled test table; adds ``majority_all`` and ``oracle``."""
    if not table.has_answers:
        raise ParameterError("evaluation needs the true answer key of every test question")
    z = scorer.zscores(table)
    out: dict[str, RouterEvaluation] = {}
    for name, router in routers.items():
        if tuple(router.models_) != tuple(table.models):
            raise ParameterError(f"router {name!r} was trained on pool {router.models_}, test pool is {table.models}")
        t0 = time.perf_counter()
        ranks = router.rank(embeddings)
        elapsed = time.perf_counter() - t0
        out[name] = evaluate_ranks(ranks, table, z)
        out[name].route_seconds = elapsed
    out["majority_all"] = evaluate_choice(scorer.all_voters().score(table).majority, table)
    oracle = table.correct().any(axis=0)
    out["oracle"] = evaluate_choice(np.where(oracle, table.answers, -1), table)
    return out
