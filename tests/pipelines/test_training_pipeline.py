"""The whole training pipeline on a small simulated world: artifacts, MLflow metrics, registry, lineage;
a weak generator's router stays challenger; the champion routes a question through MLflow's pyfunc."""

from __future__ import annotations

import json
import time

import pytest

from tests.pipelines.conftest import SMALL_POOL, inspect_last_run, rgd

EXPECTED_STEPS = {"generate_questions", "load_test_set", "filter_questions", "score_consensus", "embed_questions",
                  "train_router", "evaluate_router", "register_router",
                  *(f"respond_{m.replace('-', '_')}" for m in SMALL_POOL)}


@pytest.fixture(scope="module")
def home(tmp_path_factory, small_config):
    home = tmp_path_factory.mktemp("rgd_home")
    t0 = time.perf_counter()
    proc = rgd(home, "run", "--config", str(small_config))
    first = inspect_last_run(home)
    weak = rgd(home, "run", "--config", str(small_config), "--generator", "weak")
    second = inspect_last_run(home)
    return {"path": home, "out": proc.stdout, "run": first, "weak_out": weak.stdout, "weak_run": second,
            "seconds": time.perf_counter() - t0}


def _mlflow(home):
    import mlflow

    uri = f"sqlite:///{(home / 'mlflow' / 'mlflow.db').as_posix()}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def test_run_has_every_step_and_typed_artifacts(home):
    run = home["run"]
    assert run["status"] == "completed"
    assert set(run["steps"]) == EXPECTED_STEPS
    gen = run["steps"]["generate_questions"]["outputs"]["generated_questions"][0]
    assert gen["metadata"]["n_questions"] == 3 * 40
    assert gen["metadata"]["generators"] == "sim-gen-strong"
    assert gen["visualizations"], "the question set has a dashboard visualization"
    filtered = run["steps"]["filter_questions"]["outputs"]["filtered_questions"][0]["metadata"]["n_questions"]
    assert 10 <= filtered < 120
    pool = run["steps"]["filter_questions"]["outputs"]["pool_responses"][0]["metadata"]
    assert pool["n_models"] == 4 and pool["n_questions"] == filtered
    # every pool model answered in its own step, with its own named artifacts
    for m in SMALL_POOL:
        step = run["steps"][f"respond_{m.replace('-', '_')}"]
        assert step["metadata"]["model"] == m
        assert step["metadata"]["n_questions"] == 120 + 150
        assert sorted(step["outputs"]) == [f"test_responses_{m.replace('-', '_')}", f"train_responses_{m.replace('-', '_')}"]
    bundle = run["steps"]["train_router"]["outputs"]["router_bundle"][0]
    assert bundle["metadata"]["router"] == "cascal" and bundle["metadata"]["n_clusters"] >= 3
    assert run["steps"]["embed_questions"]["outputs"]["test_embeddings"][0]["metadata"]["n_questions"] == 150


def test_report_and_registration(home):
    out = home["out"]
    assert "cascal" in out and "best_single" in out and "oracle" in out
    assert "promoted to champion" in out
    assert "mlflow ui --backend-store-uri" in out and "zenml login --local" in out
    client, _ = _mlflow(home["path"])
    v1 = client.get_model_version("rgd-router", "1")
    assert "champion" in v1.aliases
    metrics = client.get_run(v1.run_id).data.metrics
    for key in ("top1", "top3_vote", "cascal.top1", "best_single.top1", "knn.top1", "random.top1", "oracle.top1",
                "filter.n_kept"):
        assert key in metrics, key
    assert metrics["cascal.top1"] > metrics["random.top1"]
    assert v1.tags["generators"] == "sim-gen-strong"
    assert v1.tags["zenml_run_id"] == home["run"]["id"]
    artifacts = {a.path for a in client.list_artifacts(v1.run_id)}
    assert {"evaluation", "router_state", "plots"} <= artifacts


def test_the_simulated_pools_costs_give_a_cost_curve_in_report_metrics_and_plots(home):
    from rgd.simulated.pool import PoolConfig

    out = home["out"]
    assert "cost curve of cascal: AIQ" in out and "dominates every single model" in out
    client, _ = _mlflow(home["path"])
    v1 = client.get_model_version("rgd-router", "1")
    metrics = client.get_run(v1.run_id).data.metrics
    assert 0 < metrics["cost.aiq"] <= 1 and 0 <= metrics["calibration.ece"] <= 1 and "knn.cost.aiq" in metrics
    # specialists cheap, generalists dear: the pool's costs as the simulated pool gives them
    cfg = PoolConfig()
    assert metrics["pool.sim_specialist_biol_1.cost"] == cfg.specialist_cost
    assert metrics["pool.sim_generalist_large.cost"] == cfg.generalist_cost_max > cfg.specialist_cost
    assert "plots/cost_accuracy.png" in {a.path for a in client.list_artifacts(v1.run_id, "plots")}


def test_weak_generator_stays_challenger(home):
    assert "stays challenger" in home["weak_out"]
    client, _ = _mlflow(home["path"])
    assert str(client.get_model_version_by_alias("rgd-router", "champion").version) == "1"
    v2 = client.get_model_version("rgd-router", "2")
    assert "challenger" in v2.aliases and v2.tags["generators"] == "sim-gen-weak"
    # other generator, other data: generation ran again, and the evaluation used the same test set
    assert home["weak_run"]["steps"]["generate_questions"]["status"] == "completed"
    assert v2.tags["test_set_id"] == client.get_model_version("rgd-router", "1").tags["test_set_id"]


def test_lineage_from_zenml_and_mlflow(home):
    lineage = json.loads(rgd(home["path"], "lineage", "--version", "1", "--json").stdout)
    gen_art = home["run"]["steps"]["generate_questions"]["outputs"]["generated_questions"][0]["id"]
    assert lineage["generators"] == ["sim-gen-strong"]
    assert lineage["generated_dataset"]["artifact_version_id"] == gen_art
    assert lineage["generated_dataset"]["n_questions"] == 120
    assert lineage["zenml_run"]["id"] == home["run"]["id"]
    assert lineage["pool"] == SMALL_POOL
    assert lineage["embedder"].startswith("tfidf")
    assert lineage["filter"]["report"]["n_input"] == 120
    assert lineage["filter"]["settings"]["min_self_consistency"] == 0.5
    by_gen = json.loads(rgd(home["path"], "lineage", "--generator", "weak", "--json").stdout)
    assert [v["version"] for v in by_gen["versions"]] == ["2"]
    text = rgd(home["path"], "lineage", "--generator", "sim-gen-strong").stdout
    assert "version 1" in text and "champion" in text


def test_champion_routes_a_question_through_pyfunc(home, monkeypatch):
    import mlflow

    _, uri = _mlflow(home["path"])
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/rgd-router@champion")
    import pandas as pd

    out = model.predict(pd.DataFrame({"question": ["Which mechanism explains the observed effect?"]}))
    assert out.iloc[0]["top1"] in SMALL_POOL


def test_run_time(home):
    # two full runs (strong + weak) on 2 cores, including ZenML/MLflow start-up
    assert home["seconds"] < 240
