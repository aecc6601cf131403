"""The cost-aware routing policy: calibrated probabilities of being right, traded against cost by one knob.

A router's ``scores(embeddings)`` rank the pool but mean nothing on their own. :class:`Calibrator` maps each
model's score (its :meth:`~rgd.routers.base.Router.correctness_scores`) to an estimated probability that the
model is right on the query, fitted without labels: a per-model monotone map (Platt scaling) of *held-out* scores (the router refitted on the other folds of the training
questions, :func:`fit_calibrator`) on a label-free estimate of who is right (the caller passes it; the
workflow takes it from :func:`rgd.workflow.costs.estimated_correctness`).

:class:`CostPolicy` turns scores + costs + the knob into a ranking. The knob is ``cost_weight`` ``w`` in
``[0, 1]`` (:data:`COST_WEIGHT_RANGE`); each model's utility on a query is::

    u = (1 - w) * P(right) - w * cost / max cost

the same ranking as maximising ``P(right) - lambda * cost / max cost`` with ``lambda = w / (1 - w)`` (the
probability of being right one would give up to avoid the dearest model's cost). ``w = 0`` is quality
only and returns exactly the router's own ranking (``Router.rank``: raw scores, ties by pool order);
``w = 1`` sends each query to the cheapest model (ties by probability). Ties in ``u`` go to the higher
probability, then the higher raw score, then pool order. A knob outside ``[0, 1]``, NaN or not a number, and
a knob above 0 for a router without a policy, are a :class:`CostWeightError` (a ParameterError).

:func:`rank_scores` is that rule, written once: :meth:`CostPolicy.rank` and
:meth:`rgd.routers.bundle.RouterBundle.rank` (what the pyfunc model, ``rgd route`` and the serving gateway
call) both use it. The policy is JSON (``to_dict`` / ``from_dict``), a typed field of the router bundle
(``RouterBundle.policy``; bundles written before it keep it in their metadata under
:data:`POLICY_METADATA_KEY`); :meth:`CostPolicy.with_costs` swaps in another pool config's costs (e.g. the
gateway's per-model cost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from rgd.errors import ArtifactError, ParameterError
from rgd.routers.cost import check_costs, normalised

COST_WEIGHT_RANGE = (0.0, 1.0)
CALIBRATION_SHAPES = ("logistic", "isotonic")
POLICY_METADATA_KEY = "cost_policy"
POLICY_FORMAT = "rgd.cost_policy"
POLICY_VERSION = 1


#: why a router without a cost policy refuses a knob above 0
NO_POLICY = ("this router was registered without per-model costs, hence without a cost policy: only cost weight 0 "
             "is accepted (register it from a run whose pool has costs)")


class CostWeightError(ParameterError):
    """A cost weight the router cannot honour: not a number in ``[0, 1]``, or above 0 without a cost policy."""


def check_cost_weight(value: Any) -> float:
    """The knob as a float in ``[0, 1]``; anything else is a CostWeightError saying the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CostWeightError(f"cost_weight must be a number in [0, 1], got {value!r}")
    value = float(value)
    lo, hi = COST_WEIGHT_RANGE
    if not math.isfinite(value) or not lo <= value <= hi:
        raise CostWeightError(f"cost_weight must be in [{lo:g}, {hi:g}] (0: quality only, 1: cheapest model), "
                              f"got {value!r}")
    return value


def accepted_cost_weight(policy: "CostPolicy | None", value: Any) -> float:
    """The knob checked (:func:`check_cost_weight`), and refused above 0 where there is no ``policy``."""
    w = check_cost_weight(value)
    if w != 0.0 and policy is None:
        raise CostWeightError(NO_POLICY)
    return w


def knob_grid(n: int = 400) -> np.ndarray:
    """Knob values for a cost-accuracy curve: 0, ``lambda / (1 + lambda)`` for ``n`` lambdas spaced
    geometrically in [1e-4, 1e4], and 1 (sorted, distinct)."""
    lam = np.geomspace(1e-4, 1e4, n)
    return np.unique(np.concatenate([[0.0], lam / (1 + lam), [1.0]]))


# ---------------------------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class Calibrator:
    """Per-model monotone map from a router's score to an estimated probability of being right."""

    models: tuple[str, ...]
    #: per model, the increasing score knots and the probability at each (linear in between, flat outside)
    knots_x: tuple[np.ndarray, ...]
    knots_y: tuple[np.ndarray, ...]

    @classmethod
    def fit(cls, scores: np.ndarray, target: np.ndarray, models: Sequence[str],
            shape: str = "logistic") -> "Calibrator":
        """Per model, a monotone map of its score to ``target`` (Q, M) in [0, 1], fitted on ``scores`` (Q, M).

        ``shape="logistic"`` (default): Platt scaling, ``sigmoid(a + b * score)`` with ``b >= 0``, fitted to
        the soft targets by maximum likelihood; stored as 65 knots over the observed score range.
        ``"isotonic"``: isotonic regression. Both are monotone, so each model's own ordering of queries is
        the same; they differ across models. Measured on MMLU-Pro (benchmarks/README.md) the two fit the
        label-free target equally well out of fold, but isotonic's plateaus (a cluster router has a few
        distinct scores per model) tie many queries at once, and the cost curve then jumps between few
        operating points; the two-parameter map cannot overfit and keeps the knob a fine dial."""
        if shape not in CALIBRATION_SHAPES:
            raise ParameterError(f"calibration shape must be one of {CALIBRATION_SHAPES}, got {shape!r}")
        scores = np.asarray(scores, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        if scores.shape != target.shape or scores.ndim != 2 or scores.shape[1] != len(models):
            raise ParameterError(f"calibration needs scores and targets of shape (Q, {len(models)}), got "
                                 f"{scores.shape} and {target.shape}")
        if scores.shape[0] == 0:
            raise ParameterError("calibration needs at least one question")
        if not (np.isfinite(scores).all() and np.isfinite(target).all()):
            raise ParameterError("calibration scores and targets must be finite")
        fit_one = _logistic_knots if shape == "logistic" else _isotonic_knots
        knots = [fit_one(scores[:, j], target[:, j]) for j in range(len(models))]
        return cls(tuple(models), tuple(x for x, _ in knots), tuple(np.clip(y, 0.0, 1.0) for _, y in knots))

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """(n, M) estimated probabilities of being right for (n, M) router scores."""
        scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        if scores.shape[1] != len(self.models):
            raise ParameterError(f"scores have {scores.shape[1]} columns, the calibrator {len(self.models)} models")
        return np.column_stack([np.interp(scores[:, j], x, y) for j, (x, y) in
                                enumerate(zip(self.knots_x, self.knots_y))])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "monotone-knots", "models": list(self.models),
                "knots": {m: {"x": x.tolist(), "y": y.tolist()} for m, x, y in
                          zip(self.models, self.knots_x, self.knots_y)}}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Calibrator":
        try:
            models = tuple(doc["models"])
            xs = tuple(np.asarray(doc["knots"][m]["x"], dtype=np.float64) for m in models)
            ys = tuple(np.asarray(doc["knots"][m]["y"], dtype=np.float64) for m in models)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed calibrator ({type(exc).__name__}: {exc})") from None
        for m, x, y in zip(models, xs, ys):
            if x.ndim != 1 or x.shape != y.shape or x.size == 0 or np.any(np.diff(x) < 0):
                raise ArtifactError(f"malformed calibrator knots for {m!r}")
        return cls(models, xs, ys)


def _isotonic_knots(score: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score, target)
    return np.asarray(iso.X_thresholds_, dtype=np.float64), np.asarray(iso.y_thresholds_, dtype=np.float64)


def _logistic_knots(score: np.ndarray, target: np.ndarray, n_knots: int = 65,
                    n_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """``sigmoid(a + b z)`` on the score scaled to [0, 1], fitted to soft targets by Newton's method (a tiny
    ridge on ``b`` keeps it finite when the targets separate); ``b < 0`` (a score that says the opposite of
    the target) becomes the constant mean: the map stays non-decreasing."""
    lo, hi = float(score.min()), float(score.max())
    t = np.clip(target, 1e-4, 1 - 1e-4)
    mean = float(t.mean())
    if hi - lo <= 1e-12:
        return np.array([lo]), np.array([mean])
    z = (score - lo) / (hi - lo)
    a, b = float(np.log(mean / (1 - mean))), 0.0
    ridge = 1e-6 * len(z)
    for _ in range(n_iter):
        p = 1.0 / (1.0 + np.exp(-(a + b * z)))
        r, w = p - t, p * (1 - p)
        grad = np.array([r.sum(), (r * z).sum() + ridge * b])
        hess = np.array([[w.sum(), (w * z).sum()], [(w * z).sum(), (w * z * z).sum() + ridge]])
        step = np.linalg.solve(hess + 1e-12 * np.eye(2), grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if not b > 0:
        return np.array([lo]), np.array([mean])
    grid = np.linspace(0.0, 1.0, n_knots)
    return lo + grid * (hi - lo), 1.0 / (1.0 + np.exp(-(a + b * grid)))


def fit_calibrator(name: str, params: Mapping[str, Any], train, target: np.ndarray, *, folds: int = 3,
                   seed: int = 0, fitted=None) -> Calibrator:
    """Calibrate router ``name`` on held-out training questions: refit it on ``folds - 1`` folds, score the
    last, for each fold; fit :class:`Calibrator` of those out-of-fold scores on ``target`` (Q, M).

    ``train`` is a :class:`~rgd.routers.base.TrainingSet`; the routers are fitted through
    :func:`rgd.routers.registry.fit_router`, so a label-free router never sees the keys. With fewer than
    ``2 * folds`` training questions, the in-sample scores of ``fitted`` (the router fitted on all of them)
    are used instead."""
    from rgd.routers.registry import fit_router

    n = train.table.n_questions
    models = tuple(train.table.models)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != (n, len(models)):
        raise ParameterError(f"the calibration target must be (n_questions={n}, M={len(models)}), "
                             f"got {target.shape}")
    if folds < 2 or n < 2 * folds:
        router = fitted if fitted is not None else fit_router(name, dict(params), train)
        return Calibrator.fit(router.correctness_scores(train.embeddings), target, models)
    rng = np.random.default_rng([seed, 0xCA1])
    fold = rng.permutation(np.arange(n) % folds)
    scores = np.empty((n, len(models)), dtype=np.float64)
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        router = fit_router(name, dict(params), train.take(np.flatnonzero(fold != k)))
        scores[held] = router.correctness_scores(train.embeddings[held])
    return Calibrator.fit(scores, target, models)


# ---------------------------------------------------------------------------------------------- the policy
@dataclass(frozen=True)
class CostPolicy:
    """Scores + costs + the knob -> a ranking (see module doc)."""

    models: tuple[str, ...]
    costs: np.ndarray  # (M,) float64, in the user's unit
    calibrator: Calibrator

    def __post_init__(self) -> None:
        costs = np.asarray(self.costs, dtype=np.float64)
        check_costs(dict(zip(self.models, costs.tolist())), self.models)
        if costs.shape != (len(self.models),):
            raise ParameterError(f"costs must be ({len(self.models)},), got {costs.shape}")
        if tuple(self.calibrator.models) != tuple(self.models):
            raise ParameterError(f"the calibrator is for pool {list(self.calibrator.models)}, the policy's pool "
                                 f"is {list(self.models)}")
        object.__setattr__(self, "costs", costs)

    @classmethod
    def build(cls, models: Sequence[str], costs: Mapping[str, Any], calibrator: Calibrator) -> "CostPolicy":
        checked = check_costs(costs, models)
        return cls(tuple(models), np.array([checked[m] for m in models]), calibrator)

    @property
    def relative_costs(self) -> np.ndarray:
        """(M,) costs divided by the dearest model's."""
        return normalised(self.costs)

    def with_costs(self, costs: Mapping[str, Any]) -> "CostPolicy":
        """The same calibrated policy with other costs (every pool model needs one)."""
        return CostPolicy.build(self.models, costs, self.calibrator)

    def probabilities(self, correctness: np.ndarray) -> np.ndarray:
        """(n, M) estimated probability that each model is right on each query, from the router's
        :meth:`~rgd.routers.base.Router.correctness_scores` (its ``scores`` for most routers)."""
        return self.calibrator.predict(correctness)

    def utility(self, correctness: np.ndarray, cost_weight: float) -> np.ndarray:
        """(n, M) ``(1 - w) * P(right) - w * relative cost``."""
        return self._traded(self.probabilities(correctness), check_cost_weight(cost_weight))

    def _traded(self, p: np.ndarray, w: float) -> np.ndarray:
        return (1.0 - w) * p - w * self.relative_costs[None, :]

    def rank(self, scores: np.ndarray, cost_weight: float, correctness: np.ndarray | None = None) -> np.ndarray:
        """(n, M) model indices per query, best first, for router scores (n, M) and the knob; ``correctness``:
        the router's ``correctness_scores`` where they differ from its ``scores`` (:func:`rank_scores`)."""
        return rank_scores(self, scores, cost_weight, correctness)[0]

    def choose(self, scores: np.ndarray, cost_weight: float, correctness: np.ndarray | None = None) -> np.ndarray:
        """(n,) the first-ranked model per query."""
        return self.rank(scores, cost_weight, correctness)[:, 0]

    def to_dict(self) -> dict[str, Any]:
        return {"format": POLICY_FORMAT, "version": POLICY_VERSION, "models": list(self.models),
                "costs": {m: float(c) for m, c in zip(self.models, self.costs)},
                "cost_weight_range": list(COST_WEIGHT_RANGE), "calibrator": self.calibrator.to_dict()}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "CostPolicy":
        if not isinstance(doc, Mapping) or doc.get("format") != POLICY_FORMAT:
            raise ArtifactError("not an rgd cost policy")
        if doc.get("version") != POLICY_VERSION:
            raise ArtifactError(f"cost policy version {doc.get('version')!r} is not supported "
                                f"(this library reads version {POLICY_VERSION})")
        try:
            models = list(doc["models"])
            return cls.build(models, doc["costs"], Calibrator.from_dict(doc["calibrator"]))
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"malformed cost policy ({type(exc).__name__}: {exc})") from None
        except ParameterError as exc:
            raise ArtifactError(f"malformed cost policy: {exc}") from None


def rank_scores(policy: CostPolicy | None, scores: np.ndarray, cost_weight: Any,
                correctness: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ranking rule, the one place it is written: at knob 0 the router's own ranking (its raw ``scores``,
    ties by pool order, exactly ``Router.rank``); above 0 without a ``policy`` a :class:`CostWeightError`;
    otherwise the policy's (module doc), from ``correctness`` where given, else from ``scores``.

    Returns ``(order, values)``, both (n, M): model indices per query, best first, and per model what a
    caller reports with the ranking: the router's score at knob 0, the estimated P(right) above."""
    w = accepted_cost_weight(policy, cost_weight)
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if policy is not None and scores.shape[1] != len(policy.models):
        raise ParameterError(f"scores have {scores.shape[1]} columns, the policy's pool {len(policy.models)}")
    if w == 0.0:  # quality only: the router's own ranking, exactly
        return np.argsort(-scores, axis=1, kind="stable"), scores
    p = policy.probabilities(scores if correctness is None else correctness)
    # lexsort: last key first; stable, so the remaining ties keep pool order
    return np.lexsort((-scores, -p, -policy._traded(p, w)), axis=1), p
