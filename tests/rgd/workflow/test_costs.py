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
    curve = report["cost"]["cost_curve"]
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
    assert {"knn", report["cost"]["cost_curve"]["router"]} <= set(report["cost"]["cost_curves"])
    knn = report["cost"]["cost_curves"]["knn"]
    assert next(p for p in knn["points"] if p["knob"] == 0.0)["top1"] == pytest.approx(report["routers"]["knn"]["top1"])


def test_calibration_is_reported_against_true_correctness(report):
    for cal in report["cost"]["calibration"].values():
        assert 0 <= cal["ece"] <= 1
        assert sum(b["n"] for b in cal["bins"]) == cal["n"] == report["n_test"] * len(report["models"])
        assert cal["accuracy"] == pytest.approx(np.mean([s["top1"] for s in report["cost"]["cost_curve"]["singles"]]))


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


def test_the_train_stage_stores_a_cost_policy_only_when_the_pool_has_costs(tmp_path):
    from rgd.config.run_config import parse_run_config
    from rgd.consensus import ConsensusScorer
    from rgd.embedding import make_embedder
    from rgd.routers.policy import CostPolicy
    from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix
    from rgd.workflow.costs import policy_stage
    from rgd.workflow.sources import source_for
    from rgd.workflow.train import train_stage
    from rgd.workflow.training_data import TrainingData
    from tests.rgd.tracking.synthetic import MODELS
    from tests.rgd.tracking.synthetic import synthetic_pool as small_pool

    texts, table = small_pool(seed=1)
    emb = make_embedder("tfidf", n_components=16).fit(texts)
    x = EmbeddingMatrix(table.question_ids, emb.embed(texts), emb.identity, emb.kind)
    scorer = ConsensusScorer().fit(table)
    consensus = ConsensusArtifact(scorer, scorer.score(table), table.question_ids)
    costs = {m: float(i + 1) for i, m in enumerate(MODELS)}
    base = {"pipeline": "recorded", "router": {"name": "cascal", "params": {"min_points": 5}, "baselines": []},
            "registry": {"must_beat": []}}
    with_costs = parse_run_config({**base, "recorded": {"dir": str(tmp_path), "costs": costs}})
    data = TrainingData.build(table, x, consensus, generated=False)
    routers = train_stage(with_costs.router, data)
    doc = policy_stage(routers, data, source_for(with_costs).step_costs(), router_params=with_costs.router.params)
    policy = CostPolicy.from_dict(doc)
    assert policy.models == tuple(MODELS) and policy.costs.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.array_equal(policy.rank(routers.main.scores(x.vectors), 0.0), routers.main.rank(x.vectors))
    without = parse_run_config({**base, "recorded": {"dir": str(tmp_path)}})
    assert policy_stage(routers, data, source_for(without).step_costs()) is None


def test_the_cost_plot_is_drawn_from_the_report(report, tmp_path):
    pytest.importorskip("matplotlib")
    from rgd.evaluation.cost_plot import write_cost_plot

    out = write_cost_plot(report["cost"], tmp_path / "plots")
    assert out["cost_plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_cost_plot({"routers": {}}, tmp_path / "none") == {}
