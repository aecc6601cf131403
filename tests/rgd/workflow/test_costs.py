"""Cost-aware evaluation on a synthetic pool with known structure: cheap topic experts, one dear generalist."""

import json

import numpy as np
import pytest

from rgd.data.schema import LETTERS
from rgd.errors import DataError
from rgd.workflow.recorded import embed_with, run_recorded
from tests.rgd.conftest import synthetic_pool, write_recorded

COSTS = {"expert-astronomy": 1.0, "expert-cooking": 2.0, "expert-sailing": 3.0, "expert-music": 4.0,
         "generalist": 40.0}


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    rows, preds, _ = synthetic_pool(800, seed=3)
    rng = np.random.default_rng(7)
    answers = []
    for r in rows:  # a dear generalist, right 70% everywhere: the best single model
        key = LETTERS.index(r["answer"])
        wrong = (key + int(rng.integers(1, 4))) % 4
        answers.append(r["answer"] if rng.random() < 0.7 else LETTERS[wrong])
    preds["generalist"] = answers
    return write_recorded(tmp_path_factory.mktemp("costs"), rows, preds)


@pytest.fixture(scope="module")
def report(pool_dir, tmp_path_factory):
    costs = tmp_path_factory.mktemp("c") / "costs.json"
    costs.write_text(json.dumps({"_about": "synthetic", **{m: {"active_params_b": c} for m, c in COSTS.items()}}))
    return run_recorded(pool_dir, embed_with("tfidf", tmp_path_factory.mktemp("cache")), embedder_name="tfidf",
                        routers=("cascal", "knn", "best_single"), costs=costs)


def test_the_cost_curve_dominates_every_single_model_on_a_specialist_pool(report):
    curve = report["cost_curve"]
    assert curve["router"] in report["routers"]
    singles = {s["model"]: s for s in curve["singles"]}
    assert curve["best_single"]["model"] == "generalist" and singles["generalist"]["top1"] > 0.65
    assert curve["dominates_every_single"], curve["dominates"]
    for model, d in curve["dominates"].items():
        assert d["by_point"]["mean_cost"] <= singles[model]["mean_cost"]
        assert d["by_point"]["top1"] >= singles[model]["top1"]
    # routing each topic to its cheap expert beats the generalist at a tenth of its cost
    assert curve["at_half_cost_top1"] > singles["generalist"]["top1"] + 0.1
    assert 0 < curve["aiq"] <= 1
    # knob 0 is the quality-only ranking: the same top-1 as the router's own evaluation
    first = next(p for p in curve["points"] if p["knob"] == 0.0)
    assert first["top1"] == pytest.approx(report["routers"][curve["router"]]["top1"])
    # knob 1: always the cheapest model
    last = next(p for p in curve["points"] if p["knob"] == 1.0)
    assert last["mean_cost"] == 1.0 and last["top1"] == pytest.approx(singles["expert-astronomy"]["top1"])


def test_the_label_using_knn_router_gets_a_curve_under_the_same_policy(report):
    assert {"knn", report["cost_curve"]["router"]} <= set(report["cost_curves"])
    knn = report["cost_curves"]["knn"]
    assert next(p for p in knn["points"] if p["knob"] == 0.0)["top1"] == pytest.approx(report["routers"]["knn"]["top1"])


def test_calibration_is_reported_against_true_correctness(report):
    for cal in report["calibration"].values():
        assert 0 <= cal["ece"] <= 1
        assert sum(b["n"] for b in cal["bins"]) == cal["n"] == report["n_test"] * len(report["models"])
        assert cal["accuracy"] == pytest.approx(np.mean([s["top1"] for s in report["cost_curve"]["singles"]]))


def test_a_missing_cost_is_refused_before_any_work(pool_dir, tmp_path):
    calls = []

    def embed(train, test):  # never reached
        calls.append(1)
        raise AssertionError("embedded before the costs were checked")

    costs = {m: c for m, c in COSTS.items() if m != "expert-music"}
    with pytest.raises(Exception, match="expert-music"):
        run_recorded(pool_dir, embed, routers=("cascal",), costs=costs)
    bad = tmp_path / "costs.json"
    bad.write_text(json.dumps({**COSTS, "generalist": "dear"}))
    with pytest.raises(DataError, match="costs.json.*'generalist' must be a number"):
        run_recorded(pool_dir, embed, routers=("cascal",), costs=bad)
    assert not calls
