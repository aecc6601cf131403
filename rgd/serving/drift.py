"""Drift alarms of live monitoring (issue 24.4, first part): the served version's recent traffic against its first.

Two label-free signals, each compared between the version's *reference* (its first requests) and the *recent*
ones, and raised only with enough evidence (the change at least ``z`` standard errors from none):

- ``accuracy_drop``: the routed choice's estimated accuracy (per shadowed request, from one truth estimate over
  both: :func:`rgd.serving.monitor.estimate`) fell by more than the threshold;
- ``agreement_drop``: the share of shadowed requests whose routed answer is the strict plurality of the answers
  fell by more than the threshold (no model fitted: where the truth estimate keeps trusting a degraded model, its
  answers still stop agreeing with the others');
- ``ood_rise``: the share of requests out of distribution rose by more than the threshold (two proportions).

Pure functions; :class:`rgd.serving.shadow.Shadow` calls them after each estimate and turns an alarm into an event
(logged, counted, listed by ``/v1/rgd/monitor``) and, where configured, a retraining command.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ACCURACY_DROP, AGREEMENT_DROP, OOD_RISE = "accuracy_drop", "agreement_drop", "ood_rise"


@dataclass(frozen=True)
class Alarm:
    kind: str
    reference: float  # the reference's figure (estimated accuracy, or out-of-distribution share)
    recent: float
    change: float  # recent - reference
    z: float  # the change over its standard error
    n_reference: int
    n_recent: int
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
