"""Label-free estimate of a router's accuracy: how often it would be right, from the pool's answers alone.

For a set of questions the pool has answered (held-out generated questions, a sample of real traffic), a
truth estimator gives each question a posterior over its options (``posterior[q, o]``: how likely option
``o`` is the key). A router's expected accuracy under that posterior is the mean posterior mass of the
option it picks:

* estimated top-1: the posterior of the option its first-ranked model chose (0 where that model did not
  answer), averaged over the questions;
* estimated top-3 vote: the posterior of the option the vote of its three first-ranked models picks (the
  rule of :func:`rgd.evaluation.metrics.top3_vote`, ties to the higher-ranked), averaged.

Nothing here reads an answer key: only the pool's choices, the posterior and the z-scored confidences of
the vote rule. Which estimator produces the posterior is the caller's business (the pipeline's is
:func:`rgd.workflow.estimate.truth_posterior`). An estimate needs a pool of at least two models (one model's
answers say nothing about whether it is right) and at least one question: anything less is a
:class:`~rgd.errors.ParameterError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.metrics import chosen_by, top3_vote
from rgd.routers.base import Router

#: metric names of the estimate (MLflow, the promotion gate): ``estimated_<labelled metric>``
ESTIMATED_PREFIX = "estimated_"
ESTIMATED_METRICS = ("estimated_top1", "estimated_top3_vote")


@dataclass(frozen=True)
class AccuracyEstimate:
    """Expected top-1 and top-3 vote accuracy of one router under the posterior (no labels involved)."""

    top1: float
    top3_vote: float
    n_questions: int

    def to_dict(self) -> dict[str, float]:
        return {"top1": self.top1, "top3_vote": self.top3_vote}


def check_pool(table: ResponseTable) -> None:
    """Refuse a pool an estimate cannot be made on: no question, or fewer than two models."""
    if table.n_models < 2:
        raise ParameterError(
            f"a label-free accuracy estimate needs the answers of a pool of at least two models, got "
            f"{table.n_models} ({', '.join(table.models) or 'none'}): one model's answers cannot tell whether it "
            "is right")
    if table.n_questions == 0:
        raise ParameterError("a label-free accuracy estimate needs at least one question the pool has answered; "
                             "the set is empty")


def hide_keys(table: ResponseTable) -> ResponseTable:
    """The same answers with every key unknown: what an estimator may look at."""
    return table.with_answers(np.full(table.n_questions, -1, dtype=np.int8))


def _check_posterior(posterior: np.ndarray, table: ResponseTable) -> np.ndarray:
    posterior = np.asarray(posterior, dtype=np.float64)
    if posterior.ndim != 2 or posterior.shape[0] != table.n_questions or posterior.shape[1] < table.max_options:
        raise ParameterError(f"the posterior must be (questions, options) = ({table.n_questions}, >= "
                             f"{table.max_options}), got {posterior.shape}")
    if not np.isfinite(posterior).all() or (posterior < -1e-6).any():
        raise ParameterError("the posterior must be finite and non-negative")
    return posterior


def _mass(posterior: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """(Q,) posterior of each question's chosen option, 0 where nothing was chosen."""
    cols = np.arange(len(choice))
    return np.where(choice >= 0, posterior[cols, np.maximum(choice, 0)], 0.0)


def estimate_ranks(ranks: np.ndarray, table: ResponseTable, posterior: np.ndarray,
                   z: np.ndarray | None = None) -> AccuracyEstimate:
    """The estimate for one router's rankings ``ranks`` (Q, M) of ``table``'s questions.

    ``z`` (M, Q): z-scored confidences the top-3 vote breaks three-way ties with (None: the first-ranked
    model wins them)."""
    check_pool(table)
    posterior = _check_posterior(posterior, table)
    if z is None:
        z = np.zeros(table.choices.shape, dtype=np.float32)
    top1 = _mass(posterior, chosen_by(ranks, table, 1)[0])
    top3 = _mass(posterior, top3_vote(ranks, table, z))
    return AccuracyEstimate(float(top1.mean()), float(top3.mean()), table.n_questions)


def estimate_routers(routers: Mapping[str, Router], table: ResponseTable, embeddings: np.ndarray,
                     posterior: np.ndarray, z: np.ndarray | None = None) -> dict[str, AccuracyEstimate]:
    """The estimate of every fitted router on ``table``'s questions (embedded as ``embeddings``)."""
    check_pool(table)
    if len(embeddings) != table.n_questions:
        raise ParameterError(f"{len(embeddings)} embeddings for {table.n_questions} questions")
    out: dict[str, AccuracyEstimate] = {}
    for name, router in routers.items():
        if tuple(router.models_) != tuple(table.models):
            raise ParameterError(f"router {name!r} was trained on pool {list(router.models_)}, the estimate's pool "
                                 f"is {list(table.models)}")
        out[name] = estimate_ranks(router.rank(embeddings), table, posterior, z)
    return out
