"""Drift alarms of live monitoring (issue 24.4, first part): the served version's recent traffic against its first.

Two label-free signals, each compared between the version's *reference* (its first requests) and the *recent*
ones, and raised only with enough evidence (the change at least ``z`` standard errors from none):

- ``accuracy_drop``: the routed choice's estimated accuracy (per shadowed request, from one truth estimate over
  both: :func:`rgd.serving.monitor.estimate`) fell by more than the threshold;
- ``agreement_drop``: the share of shadowed requests whose routed answer is the strict plurality of the answers
  fell by more than the threshold (no model fitted: where the truth estimate keeps trusting a degraded model, its
  answers still stop agreeing with the others');
- ``ood_rise``: the share of requests out of distribution rose by more than the threshold (two proportions);
- ``similarity_drop``: the recent requests are less like the training questions than the reference ones were
  (their training similarities, by the Mann-Whitney statistic): a new subject shifts the whole distribution
  down long before many of its questions fall below the out-of-distribution threshold;
- ``agreement_cusum``: a sequential test of the same plurality flag as ``agreement_drop``, updated at each
  shadowed request as it is recorded (:class:`PluralityCusum`, no estimate needed): a Bernoulli CUSUM, which needs
  fewer requests than a fixed window for the same false-alarm rate. Its evidence also drives the sampling: while
  it builds, :class:`rgd.serving.shadow.Shadow` shadows a larger share, within the shadow calls' cap.

Pure; :class:`rgd.serving.shadow.Shadow` calls the window tests after each estimate and the sequential test after
each shadowed request, and turns an alarm into an event (logged, counted, listed by ``/v1/rgd/monitor``) and, where
configured, a retraining command.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ACCURACY_DROP, AGREEMENT_DROP, OOD_RISE = "accuracy_drop", "agreement_drop", "ood_rise"
SIMILARITY_DROP = "similarity_drop"
AGREEMENT_CUSUM = "agreement_cusum"


@dataclass(frozen=True)
class Alarm:
    kind: str
    reference: float  # the reference's figure (estimated accuracy, or out-of-distribution share)
    recent: float
    change: float  # recent - reference
    z: float  # the change over its standard error
    n_reference: int
    n_recent: int
    evidence: float | None = None  # a sequential test's log-likelihood ratio (nats) when it alarmed
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def accuracy_drop(per_request: np.ndarray, n_reference: int, n_recent: int, threshold: float, z: float,
                  kind: str = ACCURACY_DROP) -> Alarm | None:
    """An alarm (of ``kind``) when the mean of the last ``n_recent`` values of ``per_request`` (each shadowed
    request's estimated probability that the routed answer is right; for ``agreement_drop``, whether it was the
    strict plurality) is below the first ``n_reference`` values' mean by more than ``threshold`` and by ``z``
    standard errors; None otherwise, or when the two overlap."""
    values = np.asarray(per_request, dtype=np.float64)
    if n_reference < 2 or n_recent < 2 or len(values) < n_reference + n_recent:
        return None
    ref, rec = values[:n_reference], values[-n_recent:]
    change = float(rec.mean() - ref.mean())
    se = math.sqrt(ref.var(ddof=1) / n_reference + rec.var(ddof=1) / n_recent)
    score = -change / se if se > 0 else (math.inf if change < 0 else 0.0)
    if -change > threshold and score >= z:
        return Alarm(kind, float(ref.mean()), float(rec.mean()), change, score, n_reference, n_recent)
    return None


def ood_rise(reference_ood: int, n_reference: int, recent_ood: int, n_recent: int, threshold: float, z: float
             ) -> Alarm | None:
    """An alarm when the recent share of out-of-distribution requests is above the reference's by more than
    ``threshold`` and by ``z`` standard errors (two proportions, pooled); None otherwise."""
    if n_reference < 1 or n_recent < 1:
        return None
    p_ref, p_rec = reference_ood / n_reference, recent_ood / n_recent
    pooled = (reference_ood + recent_ood) / (n_reference + n_recent)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_reference + 1 / n_recent))
    change = p_rec - p_ref
    score = change / se if se > 0 else (math.inf if change > 0 else 0.0)
    if change > threshold and score >= z:
        return Alarm(OOD_RISE, p_ref, p_rec, change, score, n_reference, n_recent)
    return None


def similarity_drop(reference, recent, threshold: float, z: float) -> Alarm | None:
    """An alarm when the recent requests are less like the training questions than the reference ones were:
    ``reference`` and ``recent`` are requests' training similarities (:meth:`rgd.routers.coverage.Coverage.of`;
    NaN dropped), compared by the Mann-Whitney statistic, the chance that a reference request is the more
    similar of a (reference, recent) pair (ties count half): 0.5 with no change. Raised when that chance is above
    0.5 by more than ``threshold`` and by ``z`` standard errors (the normal approximation under no change); its
    figures are the two sides' median similarities. Scale-free, as the coverage threshold is (cosine scales
    differ between embedders), and about the whole distribution rather than its 1% tail: questions of a new
    subject share the training questions' templates and common words, so few fall below the threshold, but most
    fall below the reference's median."""
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(recent, dtype=np.float64)
    ref, rec = ref[~np.isnan(ref)], rec[~np.isnan(rec)]
    n1, n2 = len(ref), len(rec)
    if n1 < 2 or n2 < 2:
        return None
    values = np.concatenate([ref, rec])
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # a run of tied values shares its mean rank
    ends = np.r_[starts[1:], n1 + n2]
    ranks = np.empty(n1 + n2)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    auc = float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n2))
    se = math.sqrt((n1 + n2 + 1) / (12.0 * n1 * n2))
    score = (auc - 0.5) / se
    if auc - 0.5 > threshold and score >= z:
        med_ref, med_rec = float(np.median(ref)), float(np.median(rec))
        return Alarm(SIMILARITY_DROP, med_ref, med_rec, med_rec - med_ref, score, n1, n2)
    return None


class PluralityCusum:
    """The sequential drift test: a Bernoulli CUSUM on whether each shadowed request's routed answer was the strict
    plurality of its answers (the ``agreement_drop`` signal, one value at a time, in the order recorded).

    The first ``reference_requests`` values give the reference rate p0 (smoothed: (hits + 1) / (n + 2)); then each
    value adds its log-likelihood ratio of the drop p1 = max(p0 - ``drop``, p0 / 2) against p0 to the evidence,
    floored at 0 (Page's CUSUM), and an alarm is raised when the evidence reaches ``threshold`` nats; the evidence
    then starts again from 0. Under no change the evidence drifts down and an excursion from 0 reaches h nats with
    chance at most e^-h whatever p0 is (the ratio's expectation under p0 is 1), so one threshold suits any pool;
    after a drop it climbs by about KL(p || p0) per value, so the delay is about h / KL. At the defaults (0.25, 9):
    3.3-4.5% false alarms over 1,000 shadowed in-distribution requests, and a routed model replaced by the pool's
    weakest found in a median 46.5 (MMLU-Pro) and 86 (simulated world) shadowed requests: more than the window test
    on the estimate needs (33.5 and 66), but decided at each request, not at each refresh, and with the boosted
    share fewer requests (benchmarks/README.md, "Live monitoring through the gateway", eleventh session)."""

    def __init__(self, reference_requests: int, drop: float, threshold: float) -> None:
        self.reference_requests = reference_requests
        self.drop = drop
        self.threshold = threshold
        self.n_reference = 0
        self.hits_reference = 0
        self.evidence = 0.0
        self.since: list[int] = [0, 0]  # values, plurality hits since the evidence was last 0
        self._llr: tuple[float, float] | None = None  # (a hit's, a miss's) log-likelihood ratio, once p0 is known

    @property
    def p0(self) -> float | None:
        return None if self._llr is None else (self.hits_reference + 1) / (self.n_reference + 2)

    def add(self, plurality: bool) -> Alarm | None:
        """One shadowed request's value; an :data:`AGREEMENT_CUSUM` alarm when the evidence reaches the threshold."""
        if self._llr is None:
            self.n_reference += 1
            self.hits_reference += bool(plurality)
            if self.n_reference >= self.reference_requests:
                p0 = (self.hits_reference + 1) / (self.n_reference + 2)
                p1 = max(p0 - self.drop, p0 / 2)
                self._llr = (math.log(p1 / p0), math.log((1 - p1) / (1 - p0)))
            return None
        self.evidence = max(0.0, self.evidence + self._llr[0 if plurality else 1])
        if self.evidence == 0.0:
            self.since = [0, 0]
            return None
        self.since[0] += 1
        self.since[1] += bool(plurality)
        if self.evidence < self.threshold:
            return None
        p0, (n, hits) = self.p0, self.since
        recent = hits / n
        se = math.sqrt(p0 * (1 - p0) / n)
        alarm = Alarm(AGREEMENT_CUSUM, p0, recent, recent - p0, (p0 - recent) / se if se > 0 else math.inf,
                      self.n_reference, n, evidence=self.evidence)
        self.evidence, self.since = 0.0, [0, 0]
        return alarm
