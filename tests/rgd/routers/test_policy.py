"""Costs and the cost-aware policy: clear errors for bad costs and knobs; knob 0 is the router's own ranking."""

import json

import numpy as np
import pytest

from rgd.errors import ArtifactError, DataError, ParameterError
from rgd.routers.cost import load_costs, normalised
from rgd.routers.policy import Calibrator, CostPolicy, check_cost_weight, knob_grid

MODELS = ("small", "medium", "large")


def identity_calibrator(models=MODELS):
    return Calibrator(tuple(models), tuple(np.array([0.0, 1.0]) for _ in models),
                      tuple(np.array([0.0, 1.0]) for _ in models))


def policy(costs=(1.0, 5.0, 20.0)):
    return CostPolicy.build(MODELS, dict(zip(MODELS, costs)), identity_calibrator())


# ------------------------------------------------------------------------------------------------ costs
def test_costs_from_the_models_json_shape_use_active_parameters(tmp_path):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({
        "_about": "comment",
        "small": {"active_params_b": 3.8, "total_params_b": 3.8},
        "medium": {"active_params_b": 12.9, "total_params_b": 46.7},
        "large": {"active_params_b": 70.6, "total_params_b": 70.6},
        "not-in-pool": {"active_params_b": None, "total_params_b": None},
    }))
    assert load_costs(path, MODELS) == {"small": 3.8, "medium": 12.9, "large": 70.6}


def test_costs_from_a_plain_map(tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"small": 1, "medium": 2.5, "large": 10, "other": "ignored"}))
    assert load_costs(path, MODELS) == {"small": 1.0, "medium": 2.5, "large": 10.0}
    assert load_costs({"small": 0, "medium": 1, "large": 2}, MODELS)["small"] == 0.0


def test_a_pool_model_without_a_cost_is_named(tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"small": 1, "large": 10}))
    with pytest.raises(DataError, match=r"costs.json.*no cost for pool model\(s\) \['medium'\]"):
        load_costs(path, MODELS)
    with pytest.raises(ParameterError, match="medium"):
        load_costs({"small": 1, "large": 2}, MODELS)


@pytest.mark.parametrize("bad", [-1, "cheap", None, True, float("nan"), float("inf"), [3]])
def test_negative_or_non_numeric_costs_are_refused_naming_the_model(bad):
    with pytest.raises(ParameterError, match="the cost of 'medium' must be"):
        load_costs({"small": 1, "medium": bad, "large": 2}, MODELS)


def test_a_models_json_entry_without_a_cost_field_or_with_null_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="'medium' has no cost"):
        load_costs({"small": 1, "medium": {"total_params_b": 3}, "large": 2}, MODELS)
    with pytest.raises(ParameterError, match="the cost of 'medium' must be a number, got None"):
        load_costs({"small": 1, "medium": {"active_params_b": None}, "large": 2}, MODELS)


def test_unreadable_costs_files_are_data_errors_naming_the_file(tmp_path):
    with pytest.raises(DataError, match="no such costs file"):
        load_costs(tmp_path / "absent.json", MODELS)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="bad.json: not JSON"):
        load_costs(bad, MODELS)
    bad.write_text("[1, 2]")
    with pytest.raises(DataError, match="JSON object"):
        load_costs(bad, MODELS)


def test_normalised_costs_are_relative_to_the_dearest_model():
    assert np.allclose(normalised(np.array([1.0, 5.0, 20.0])), [0.05, 0.25, 1.0])
    assert np.allclose(normalised(np.zeros(3)), 0.0)


# ------------------------------------------------------------------------------------------------ the knob
@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf"), "0.5", None, True])
def test_a_knob_out_of_range_or_not_a_number_is_a_clear_error(bad):
    with pytest.raises(ParameterError, match=r"cost_weight must be .*\[0, 1\]"):
        check_cost_weight(bad)
    with pytest.raises(ParameterError, match="cost_weight"):
        policy().rank(np.zeros((2, 3)), bad)


def test_knob_grid_spans_the_range():
    grid = knob_grid(50)
    assert grid[0] == 0.0 and grid[-1] == 1.0 and np.all(np.diff(grid) > 0)


def test_knob_zero_is_exactly_the_quality_only_ranking_with_ties_in_pool_order():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(500, 3)).astype(float)  # many ties
    pol = CostPolicy.build(MODELS, {"small": 1, "medium": 5, "large": 20},
                           Calibrator.fit(rng.random((200, 3)), rng.random((200, 3)), MODELS))
    assert np.array_equal(pol.rank(scores, 0.0), np.argsort(-scores, axis=1, kind="stable"))
    assert np.array_equal(pol.rank(scores, 0), np.argsort(-scores, axis=1, kind="stable"))


def test_the_knob_trades_probability_against_cost():
    pol = policy()
    scores = np.array([[0.50, 0.60, 0.70]])  # the identity calibrator: these are the probabilities
    assert pol.rank(scores, 0.0)[0].tolist() == [2, 1, 0]
    # lambda = w / (1 - w) = 0.1: utilities 0.495, 0.5875, 0.6 -> large still first
    assert pol.rank(scores, 0.1 / 1.1)[0].tolist() == [2, 1, 0]
    # lambda = 1: 0.45, 0.35, -0.3 -> cheapest first
    assert pol.rank(scores, 0.5)[0].tolist() == [0, 1, 2]
    # the extreme: cheapest first whatever the probabilities
    assert pol.rank(np.array([[0.0, 0.9, 1.0]]), 1.0)[0].tolist() == [0, 1, 2]


def test_equal_utility_goes_to_the_more_probable_then_the_higher_score():
    pol = CostPolicy.build(MODELS, {"small": 1, "medium": 1, "large": 1}, identity_calibrator())
    assert pol.rank(np.array([[0.2, 0.4, 0.3]]), 1.0)[0].tolist() == [1, 2, 0]


# ------------------------------------------------------------------------------------------------ calibration
@pytest.mark.parametrize("shape", ["logistic", "isotonic"])
def test_the_calibrator_is_monotone_in_the_unit_interval_and_fits_a_known_map(shape):
    rng = np.random.default_rng(1)
    s = rng.random((4000, 3))
    sigmoid = 1 / (1 + np.exp(-(-2 + 4 * s[:, 1])))
    # an anti-correlated score (model 3) gets the constant mean: the map never decreases
    target = np.column_stack([s[:, 0], sigmoid, 0.6 - 0.3 * s[:, 2]])
    cal = Calibrator.fit(s, target, MODELS, shape=shape)
    grid = np.column_stack([np.linspace(-1, 2, 50)] * 3)
    p = cal.predict(grid)
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p, axis=0) >= 0)
    probe = np.array([[0.5, 0.5, 0.5]])
    assert np.allclose(cal.predict(probe), [[0.5, 0.5, 0.45]], atol=0.03)
    assert np.allclose(cal.predict(np.array([[0.9, 0.9, 0.9]]))[0, :2], [0.9, 1 / (1 + np.exp(-1.6))], atol=0.04)
    if shape == "logistic":  # strictly increasing where the score says something: no plateaus
        assert np.all(np.diff(cal.predict(np.column_stack([np.linspace(0, 1, 50)] * 3))[:, :2], axis=0) > 0)


def test_an_unknown_calibration_shape_is_refused():
    with pytest.raises(ParameterError, match="calibration shape"):
        Calibrator.fit(np.zeros((4, 3)), np.zeros((4, 3)), MODELS, shape="spline")


def test_policy_round_trips_through_json_and_refuses_a_foreign_document():
    rng = np.random.default_rng(2)
    pol = CostPolicy.build(MODELS, {"small": 1, "medium": 5, "large": 20},
                           Calibrator.fit(rng.random((100, 3)), rng.random((100, 3)), MODELS))
    back = CostPolicy.from_dict(json.loads(json.dumps(pol.to_dict())))
    scores = rng.random((50, 3))
    for w in (0.0, 0.01, 0.3, 1.0):
        assert np.array_equal(back.rank(scores, w), pol.rank(scores, w))
    assert np.allclose(back.probabilities(scores), pol.probabilities(scores))
    with pytest.raises(ArtifactError):
        CostPolicy.from_dict({"format": "something else"})
    doc = pol.to_dict()
    doc["costs"]["medium"] = -3
    with pytest.raises(ArtifactError, match="medium"):
        CostPolicy.from_dict(doc)


def test_with_costs_swaps_the_costs_and_still_needs_every_model():
    pol = policy()
    cheap_large = pol.with_costs({"small": 20, "medium": 5, "large": 1})
    assert cheap_large.rank(np.array([[0.5, 0.5, 0.5]]), 1.0)[0].tolist() == [2, 1, 0]
    with pytest.raises(ParameterError, match="large"):
        pol.with_costs({"small": 1, "medium": 2})
