"""rgd evaluate-recorded --costs: the cost curve in the JSON, the plot, and clear errors for bad costs."""

import json

from click.testing import CliRunner

from rgd.cli import main
from tests.rgd.conftest import synthetic_pool, write_recorded


def run(tmp_path, costs, *extra):
    rows, preds, _ = synthetic_pool(400, seed=5)
    data = write_recorded(tmp_path / "pool", rows, preds)
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(costs))
    out = tmp_path / "report.json"
    res = CliRunner().invoke(main, ["evaluate-recorded", str(data), "--embedder", "tfidf", "--cache-dir",
                                    str(tmp_path / "cache"), "--costs", str(path), "--output", str(out), *extra])
    return res, out


def test_costs_add_the_curve_and_the_plot(tmp_path):
    costs = {"expert-astronomy": {"active_params_b": 1}, "expert-cooking": {"active_params_b": 2},
             "expert-music": {"active_params_b": 3}, "expert-sailing": {"active_params_b": 4}}
    res, out = run(tmp_path, costs, "--plots", str(tmp_path / "plots"))
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    curve = report["cost"]["cost_curve"]
    assert {"points", "aiq", "best_single", "at_half_cost_top1"} <= set(curve)
    assert set(curve["points"][0]) == {"knob", "mean_cost", "top1"}
    assert set(curve["best_single"]) == {"model", "mean_cost", "top1"}
    assert curve["router"] == report["primary"] and report["cost"]["calibration"][curve["router"]]["ece"] >= 0
    assert "cost curve of" in res.output and (tmp_path / "plots" / "cost_accuracy.png").is_file()


def test_a_negative_cost_is_a_clear_error_naming_the_model(tmp_path):
    costs = {"expert-astronomy": 1, "expert-cooking": -2, "expert-music": 3, "expert-sailing": 4}
    res, _ = run(tmp_path, costs)
    assert res.exit_code != 0
    assert "the cost of 'expert-cooking' must be a finite number >= 0" in res.output
    assert "Traceback" not in res.output


def test_a_missing_cost_is_a_clear_error_naming_the_model(tmp_path):
    res, _ = run(tmp_path, {"expert-astronomy": 1, "expert-cooking": 2, "expert-music": 3})
    assert res.exit_code != 0 and "expert-sailing" in res.output and "Traceback" not in res.output
