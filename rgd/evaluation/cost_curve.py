"""Cost-accuracy evaluation of a routing policy, and the calibration of its probabilities, on a labelled set.

* :func:`reliability`: a reliability table (equal-width bins of the predicted probability: how many, mean
  prediction, observed accuracy) and the expected calibration error ``ECE = sum_b n_b / N * |acc_b - conf_b|``.
* :func:`policy_curve`: top-1 accuracy and mean cost of the policy's first choice at each knob value.
* :func:`upper_hull`: the non-decreasing convex hull of (cost, accuracy) points (RouterBench): the best
  accuracy reachable at each cost, mixing two operating points at random where that pays.
* :func:`aiq`: RouterBench's Average Improvement in Quality, the area under that hull over a cost range
  divided by the range's width, ``AIQ = 1 / (c_max - c_min) * integral_{c_min}^{c_max} hull(c) dc``; here the
  range is the pool's, from the cheapest to the dearest single model, so routers are compared on one range;
  the hull is flat after its dearest point and 0 before its cheapest (an unreachable budget buys nothing).
* :func:`cost_curve_summary`: the evaluation report's ``cost.cost_curve`` block (``evaluate-recorded --costs``,
  the pipeline's cost evaluation): the curve's points, its hull,
  AIQ, every single model's point and the best one, ``at_half_cost_top1`` (the best top-1 among the curve's
  points whose mean cost is at most half the best single model's) and, per single model, the curve's
  cheapest point at least as accurate at no more cost (``dominates``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from rgd.errors import ParameterError

DEFAULT_BINS = 10


def reliability(prob: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Reliability table and ECE of predicted probabilities ``prob`` against 0/1 outcomes ``correct``.

    Bins are ``[i / n_bins, (i + 1) / n_bins)``, the last one closed; empty bins are listed with ``n = 0``."""
    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(correct, dtype=np.float64).ravel()
    if p.shape != y.shape:
        raise ParameterError(f"probabilities and outcomes differ in size ({p.size} vs {y.size})")
    if n_bins < 1:
        raise ParameterError(f"n_bins must be >= 1, got {n_bins}")
    if p.size == 0:
        raise ParameterError("calibration needs at least one prediction")
    if np.any((p < 0) | (p > 1)) or not np.isfinite(p).all():
        raise ParameterError("probabilities must lie in [0, 1]")
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    conf = np.bincount(idx, weights=p, minlength=n_bins)
    hits = np.bincount(idx, weights=y, minlength=n_bins)
    bins, ece = [], 0.0
    for b in range(n_bins):
        n = int(counts[b])
        row = {"lo": b / n_bins, "hi": (b + 1) / n_bins, "n": n, "mean_p": None, "accuracy": None}
        if n:
            row["mean_p"], row["accuracy"] = float(conf[b] / n), float(hits[b] / n)
            ece += n / p.size * abs(row["accuracy"] - row["mean_p"])
        bins.append(row)
    return {"ece": float(ece), "n": int(p.size), "mean_p": float(p.mean()), "accuracy": float(y.mean()),
            "bins": bins}


def policy_curve(policy, scores: np.ndarray, correct: np.ndarray, knobs: Sequence[float],
                 correctness: np.ndarray | None = None) -> list[dict[str, float]]:
    """Per knob: ``{"knob", "mean_cost", "top1"}`` of the policy's first choice; ``correct`` is (M, n) bool;
    ``correctness``: the router's ``correctness_scores`` (default: ``scores``)."""
    correct = np.asarray(correct, dtype=bool)
    cols = np.arange(correct.shape[1])
    out = []
    for w in knobs:
        pick = policy.choose(scores, float(w), correctness)
        out.append({"knob": float(w), "mean_cost": float(policy.costs[pick].mean()),
                    "top1": float(correct[pick, cols].mean())})
    return out


def upper_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Vertices (cost ascending) of the non-decreasing convex hull of (cost, accuracy) points."""
    pts = sorted({(float(c), float(a)) for c, a in points}, key=lambda t: (t[0], -t[1]))
    frontier: list[tuple[float, float]] = []
    for c, a in pts:  # Pareto: each kept point strictly more accurate than every cheaper one
        if not frontier or a > frontier[-1][1]:
            if frontier and frontier[-1][0] == c:
                frontier[-1] = (c, a)
            else:
                frontier.append((c, a))
    hull: list[tuple[float, float]] = []
    for p in frontier:  # upper concave chain (monotone chain, dropping points on or under a chord)
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def hull_value(hull: Sequence[tuple[float, float]], cost: float) -> float:
    """The hull's accuracy at ``cost`` (0 below its cheapest vertex, flat after its dearest)."""
    if not hull or cost < hull[0][0]:
        return 0.0
    xs = np.array([h[0] for h in hull])
    ys = np.array([h[1] for h in hull])
    return float(np.interp(cost, xs, ys))


def aiq(hull: Sequence[tuple[float, float]], c_min: float, c_max: float) -> float:
    """Area under the hull over [c_min, c_max] divided by the width (the hull's value when the width is 0)."""
    if c_max <= c_min:
        return hull_value(hull, c_min)
    grid = sorted({c_min, c_max, *[h[0] for h in hull if c_min < h[0] < c_max]})
    if hull and c_min < hull[0][0] < c_max:  # the step up from 0 at the cheapest vertex
        grid = sorted(set(grid) | {np.nextafter(hull[0][0], -np.inf)})
    vals = [hull_value(hull, c) for c in grid]
    area = sum((vals[i] + vals[i + 1]) / 2 * (grid[i + 1] - grid[i]) for i in range(len(grid) - 1))
    return float(area / (c_max - c_min))


def single_points(correct: np.ndarray, costs: np.ndarray, models: Sequence[str]) -> list[dict[str, Any]]:
    """Every single model's operating point: always send every query to it."""
    acc = np.asarray(correct, dtype=bool).mean(axis=1)
    return [{"model": m, "mean_cost": float(c), "top1": float(a)} for m, c, a in zip(models, costs, acc)]


def cost_curve_summary(points: list[dict[str, float]], singles: list[dict[str, Any]],
                       tol: float = 1e-12) -> dict[str, Any]:
    """The ``cost_curve`` JSON block (see module doc) from a policy's points and the single models'."""
    if not points or not singles:
        raise ParameterError("a cost curve needs at least one operating point and one single model")
    hull = upper_hull([(p["mean_cost"], p["top1"]) for p in points])
    best = max(singles, key=lambda s: (s["top1"], -s["mean_cost"]))
    c_min = min(s["mean_cost"] for s in singles)
    c_max = max(s["mean_cost"] for s in singles)
    half = 0.5 * best["mean_cost"]
    affordable = [p["top1"] for p in points if p["mean_cost"] <= half + tol]
    dominates = {}
    for s in singles:
        ok = [p for p in points if p["mean_cost"] <= s["mean_cost"] + tol and p["top1"] >= s["top1"] - tol]
        cheapest = min(ok, key=lambda p: (p["mean_cost"], -p["top1"])) if ok else None
        dominates[s["model"]] = {"dominated": cheapest is not None, "by_point": cheapest,
                                 "hull_top1_at_its_cost": hull_value(hull, s["mean_cost"])}
    return {
        "points": points,
        "hull": [{"mean_cost": c, "top1": a} for c, a in hull],
        "aiq": aiq(hull, c_min, c_max),
        "aiq_range": [c_min, c_max],
        "best_single": dict(best),
        "at_half_cost_top1": max(affordable) if affordable else None,
        "at_half_cost_hull_top1": hull_value(hull, half),
        "singles": singles,
        "dominates_every_single": all(d["dominated"] for d in dominates.values()),
        "dominates": dominates,
    }


def describe_cost_curve(curve: Mapping[str, Any]) -> str:
    """One line on a ``cost_curve`` block: AIQ, the best single model, the best top-1 at half its cost and
    whether the curve dominates every single model (the command line's reports)."""
    best, half = curve["best_single"], curve["at_half_cost_top1"]
    return (f"cost curve of {curve['router']}: AIQ {curve['aiq']:.4f}; best single {best['model']} "
            f"{best['top1']:.4f} at cost {best['mean_cost']:g}; best top-1 at <= half that cost "
            f"{'-' if half is None else f'{half:.4f}'}; dominates every single model: "
            f"{curve['dominates_every_single']}")
