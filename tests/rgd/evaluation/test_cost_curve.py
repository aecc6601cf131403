"""Calibration (reliability table, ECE), the non-decreasing convex hull and AIQ on hand-made cases."""

import numpy as np
import pytest

from rgd.errors import ParameterError
from rgd.evaluation.cost_curve import aiq, cost_curve_summary, hull_value, reliability, upper_hull


def test_ece_of_a_hand_made_case():
    # bin [0.2, 0.3): 4 predictions of 0.25, 1 right -> |0.25 - 0.25| = 0
    # bin [0.8, 0.9): 4 predictions of 0.8, 2 right -> |0.5 - 0.8| = 0.3
    # bin [0.9, 1.0]: 2 predictions of 1.0, both right -> 0
    p = [0.25] * 4 + [0.8] * 4 + [1.0] * 2
    y = [1, 0, 0, 0] + [1, 1, 0, 0] + [1, 1]
    r = reliability(np.array(p), np.array(y), n_bins=10)
    assert r["ece"] == pytest.approx(4 / 10 * 0.3)
    assert r["n"] == 10 and len(r["bins"]) == 10
    b2, b8, b9 = r["bins"][2], r["bins"][8], r["bins"][9]
    assert (b2["n"], b2["mean_p"], b2["accuracy"]) == (4, pytest.approx(0.25), pytest.approx(0.25))
    assert (b8["n"], b8["mean_p"], b8["accuracy"]) == (4, pytest.approx(0.8), pytest.approx(0.5))
    assert b9["n"] == 2 and b9["accuracy"] == 1.0  # 1.0 falls in the last, closed bin
    assert r["bins"][0]["n"] == 0 and r["bins"][0]["mean_p"] is None


def test_perfectly_calibrated_predictions_have_zero_ece_and_overconfident_ones_do_not():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = rng.random(p.size) < p
    assert reliability(p, y)["ece"] < 0.01
    assert reliability(np.clip(p * 1.5, 0, 1), y)["ece"] > 0.1


def test_reliability_refuses_bad_input():
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        reliability(np.array([1.5]), np.array([1]))
    with pytest.raises(ParameterError, match="size"):
        reliability(np.array([0.5, 0.5]), np.array([1]))


def test_upper_hull_drops_dominated_and_under_chord_points():
    pts = [(1, 0.4), (2, 0.45), (3, 0.6), (4, 0.55), (5, 0.62), (3, 0.5)]
    # (2, 0.45) lies under the chord (1, 0.4)-(3, 0.6); (4, 0.55) and (3, 0.5) are dominated
    assert upper_hull(pts) == [(1, 0.4), (3, 0.6), (5, 0.62)]
    h = upper_hull(pts)
    assert hull_value(h, 2) == pytest.approx(0.5)  # mixing the two neighbours
    assert hull_value(h, 10) == pytest.approx(0.62) and hull_value(h, 0.5) == 0.0


def test_aiq_is_the_normalised_area_under_the_hull():
    h = [(1.0, 0.4), (3.0, 0.6), (5.0, 0.62)]
    # over [1, 5]: trapezoids 2 * 0.5 + 2 * 0.61 = 2.22, / 4
    assert aiq(h, 1.0, 5.0) == pytest.approx(2.22 / 4)
    # over [0, 5]: nothing is reachable below cost 1
    assert aiq(h, 0.0, 5.0) == pytest.approx(2.22 / 5, abs=1e-9)
    # flat after the dearest vertex
    assert aiq(h, 1.0, 7.0) == pytest.approx((2.22 + 2 * 0.62) / 6)


def test_summary_finds_the_best_single_the_half_cost_point_and_domination():
    singles = [{"model": "a", "mean_cost": 1.0, "top1": 0.4}, {"model": "b", "mean_cost": 10.0, "top1": 0.6}]
    points = [{"knob": 1.0, "mean_cost": 1.0, "top1": 0.4}, {"knob": 0.5, "mean_cost": 4.0, "top1": 0.57},
              {"knob": 0.2, "mean_cost": 6.0, "top1": 0.59}, {"knob": 0.0, "mean_cost": 9.0, "top1": 0.61}]
    s = cost_curve_summary(points, singles)
    assert s["best_single"]["model"] == "b"
    assert s["at_half_cost_top1"] == pytest.approx(0.57)  # cost 6 > 5
    assert s["dominates"]["a"]["dominated"] and s["dominates"]["b"]["dominated"]
    assert s["dominates"]["b"]["by_point"]["knob"] == 0.0
    assert s["dominates_every_single"]
    s2 = cost_curve_summary(points[:3], singles)
    assert not s2["dominates"]["b"]["dominated"] and not s2["dominates_every_single"]
