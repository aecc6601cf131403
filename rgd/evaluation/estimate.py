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
:func:`rgd.workflow.estimate.held_out_truth`). An estimate needs a pool of at least two models (one model's
answers say nothing about whether it is right) and at least one question: anything less is a
:class:`~rgd.errors.ParameterError`.

How far to trust the level (issue 28): the posterior over-credits answers the pool's models share, so the
estimate above is a *high* reading (on the 12-model pack it was 11-14 points above the true top-1 with each
generator's keys). Two more label-free readings err the other way and travel with it:

* judged by the others: the routed model's answer scored by the posterior with that model's own votes left
  out (a model cannot vouch for itself; still too high where the rest of the pool shares its errors);
* the generator's keys: how often the router's choice matches the generator's own answer, on generated
  questions (data, not labels: too low where the generator errs, too high where its errors coincide with the
  pool's).

:attr:`AccuracyEstimate.interval` spans the readings, widened by two sampling standard errors, and
:attr:`AccuracyEstimate.uncertain` says when they disagree by more than :data:`LEVEL_TOLERANCE`: the level is
then not known to that precision, however the router compares with another on the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.metrics import chosen_by, top3_vote
from rgd.routers.base import Router

#: metric names of the estimate (MLflow, the promotion gate): ``estimated_<labelled metric>``
ESTIMATED_PREFIX = "estimated_"
ESTIMATED_METRICS = ("estimated_top1", "estimated_top3_vote")
#: the metric that is 1.0 when the label-free readings of the primary router's top-1 disagree on the level
UNCERTAIN_METRIC = "estimate_uncertain"
#: the metric that is 1.0 when the generator's keys are rated reliable enough for their reading to overrule a gain
KEYS_ARBITER_METRIC = "estimate_keys_arbiter"


#: how far apart the readings may be for the level to count as known (an accuracy a user would act on)
LEVEL_TOLERANCE = 0.05
#: standard errors of sampling noise the interval adds on each side
INTERVAL_Z = 2.0


@dataclass(frozen=True)
class AccuracyEstimate:
    """Expected top-1 and top-3 vote accuracy of one router under the posterior (no labels involved), with the
    other label-free readings of each (``readings[metric][reading]``, a reading absent where its input was not
    available) and each metric's per-question standard error."""

    top1: float
    top3_vote: float
    n_questions: int
    readings: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    se: Mapping[str, float] = field(default_factory=dict)

    def value(self, metric: str) -> float:
        return {"top1": self.top1, "top3_vote": self.top3_vote}[metric]

    def _values(self, metric: str) -> list[float]:
        """Every reading of ``metric``: the posterior's first."""
        return [self.value(metric), *self.readings.get(metric, {}).values()]

    def interval(self, metric: str = "top1") -> tuple[float, float]:
        """(low, high): every reading of ``metric``, widened by :data:`INTERVAL_Z` standard errors."""
        values, pad = self._values(metric), INTERVAL_Z * self.se.get(metric, 0.0)
        return max(0.0, min(values) - pad), min(1.0, max(values) + pad)

    def spread(self, metric: str = "top1") -> float:
        """How far apart the readings of ``metric`` are (0 with one reading)."""
        values = self._values(metric)
        return max(values) - min(values)

    @property
    def uncertain(self) -> bool:
        """Whether the readings of top-1 disagree by more than :data:`LEVEL_TOLERANCE` (one reading alone
        cannot say: then False, and :attr:`n_readings` tells)."""
        return self.spread("top1") > LEVEL_TOLERANCE

    @property
    def n_readings(self) -> int:
        return 1 + len(self.readings.get("top1", {}))

    def to_dict(self) -> dict[str, float]:
        out: dict[str, float] = {"top1": self.top1, "top3_vote": self.top3_vote}
        for metric in ("top1", "top3_vote"):
            out[f"{metric}_low"], out[f"{metric}_high"] = self.interval(metric)
            for reading, v in self.readings.get(metric, {}).items():
                out[f"{metric}_{reading}"] = v
        out["uncertain"] = float(self.uncertain)
        return out


READING_WORDS = {"top1": "the consensus", "top1_judged": "judged by the others", "top1_keys": "the generator's keys"}


def level_sentence(row: Mapping[str, float]) -> str:
    """One plain sentence on how far the level of a router's estimate (``AccuracyEstimate.to_dict()``) is known."""
    readings = ", ".join(f"{words} {row[k]:.3f}" for k, words in READING_WORDS.items() if k in row)
    if "top1_low" not in row:
        return f"Label-free top-1 {row['top1']:.3f}."
    span = f"{row['top1_low']:.3f} to {row['top1_high']:.3f}"
    if row.get("uncertain"):
        return (f"The level of the label-free top-1 is uncertain: its readings ({readings}) span {span}, more "
                f"than {LEVEL_TOLERANCE:.0%} apart; compare routers estimated on the same questions, not levels.")
    return f"The label-free top-1 lies within {span} (readings: {readings})."


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


def _se(per_question: np.ndarray) -> float:
    return float(per_question.std() / np.sqrt(max(len(per_question), 1)))


def estimate_ranks(ranks: np.ndarray, table: ResponseTable, posterior: np.ndarray,
                   z: np.ndarray | None = None, *, judged: np.ndarray | None = None,
                   keys: np.ndarray | None = None) -> AccuracyEstimate:
    """The estimate for one router's rankings ``ranks`` (Q, M) of ``table``'s questions.

    ``z`` (M, Q): z-scored confidences the top-3 vote breaks three-way ties with (None: the first-ranked
    model wins them). ``judged`` (M, Q): each model's answer scored by the posterior without that model's
    votes (the "judged" reading of top-1); ``keys`` (Q,): the generator's own answers to these questions (-1
    where it gave none; the "keys" reading). Never pass a labelled test set's keys as ``keys``: they are the
    labelled evaluation's business."""
    check_pool(table)
    posterior = _check_posterior(posterior, table)
    if z is None:
        z = np.zeros(table.choices.shape, dtype=np.float32)
    first, voted = chosen_by(ranks, table, 1)[0], top3_vote(ranks, table, z)
    top1, top3 = _mass(posterior, first), _mass(posterior, voted)
    readings: dict[str, dict[str, float]] = {"top1": {}, "top3_vote": {}}
    if judged is not None:
        judged = np.asarray(judged, dtype=np.float64)
        if judged.shape != table.choices.shape:
            raise ParameterError(f"judged must be (models, questions) = {table.choices.shape}, got {judged.shape}")
        routed = np.asarray(ranks)[:, 0]
        readings["top1"]["judged"] = float(judged[routed, np.arange(table.n_questions)].mean())
    if keys is not None:
        keys = np.asarray(keys)
        if keys.shape != (table.n_questions,):
            raise ParameterError(f"keys must be ({table.n_questions},), got {keys.shape}")
        has = keys >= 0
        if has.any():
            readings["top1"]["keys"] = float((first == keys)[has].mean())
            readings["top3_vote"]["keys"] = float((voted == keys)[has].mean())
    return AccuracyEstimate(float(top1.mean()), float(top3.mean()), table.n_questions,
                            {m: r for m, r in readings.items() if r}, {"top1": _se(top1), "top3_vote": _se(top3)})


def estimate_routers(routers: Mapping[str, Router], table: ResponseTable, embeddings: np.ndarray,
                     posterior: np.ndarray, z: np.ndarray | None = None, *, judged: np.ndarray | None = None,
                     keys: np.ndarray | None = None) -> dict[str, AccuracyEstimate]:
    """The estimate of every fitted router on ``table``'s questions (embedded as ``embeddings``); ``judged``
    and ``keys`` as in :func:`estimate_ranks`."""
    check_pool(table)
    if len(embeddings) != table.n_questions:
        raise ParameterError(f"{len(embeddings)} embeddings for {table.n_questions} questions")
    out: dict[str, AccuracyEstimate] = {}
    for name, router in routers.items():
        if tuple(router.models_) != tuple(table.models):
            raise ParameterError(f"router {name!r} was trained on pool {list(router.models_)}, the estimate's pool "
                                 f"is {list(table.models)}")
        out[name] = estimate_ranks(router.rank(embeddings), table, posterior, z, judged=judged, keys=keys)
    return out
