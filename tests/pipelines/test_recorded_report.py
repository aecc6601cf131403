"""`rgd evaluate-recorded` is a front of the recorded pipeline with one report (issue 27): on the same recorded
pack, with the same routers, costs and defaults (given as options, or as the same run config with --config),
its JSON and the `evaluation.json` that `rgd run` (pipeline: recorded) logs in MLflow have the same keys, block
by block, and the same accuracies and estimates; the CLI adds only its `run` block (its inputs and timings)."""

from __future__ import annotations

import json

import pytest

from rgd.workflow.recorded import ALL_ROUTERS
from tests.pipelines.conftest import mlflow_client, rgd
from tests.rgd.conftest import synthetic_pool, write_recorded

MODEL_NAME = "one-report-router"
#: what only the command line knows (its inputs, the label noise, its timings); the pipeline has them as params
CLI_ONLY = {"run"}


def shape(value):
    """The keys of a report, recursively (a list: its length; a number or a string: its type)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return ("list", len(value))
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_one_report")
    rows, preds, _ = synthetic_pool(240, seed=4)
    pack = write_recorded(home / "pack", rows, preds)
    costs = home / "costs.json"
    costs.write_text(json.dumps({m: float(i + 1) for i, m in enumerate(sorted(preds))}))
    config = home / "recorded.yaml"
    config.write_text(json.dumps({
        "name": "one-report", "pipeline": "recorded", "recorded": {"dir": str(pack), "costs": str(costs)},
        "router": {"name": ALL_ROUTERS[0], "baselines": list(ALL_ROUTERS[1:])},  # what evaluate-recorded trains
        "registry": {"model_name": MODEL_NAME},
    }))  # every other setting (embedder, seed, consensus) at the run config's default, as for the CLI
    rgd(home, "run", "--config", str(config))
    fronts = {"options": [str(pack), "--costs", str(costs)], "config": ["--config", str(config)]}
    cli = {}
    for front, args in fronts.items():
        out = home / f"cli_{front}.json"
        rgd(home, "evaluate-recorded", *args, "--cache-dir", str(home / "cache"), "--output", str(out))
        cli[front] = json.loads(out.read_text())
    client = mlflow_client(home)
    version = client.search_model_versions(f"name='{MODEL_NAME}'")[0]
    path = client.download_artifacts(version.run_id, "evaluation/evaluation.json", str(home))
    return cli, json.loads(open(path).read())


@pytest.fixture(params=["options", "config"])
def front(request, reports):
    """(evaluate-recorded's report given options or the run config, the pipeline's evaluation.json)"""
    return reports[0][request.param], reports[1]


def test_both_fronts_write_the_same_report_keys(front):
    cli, pipeline = front
    assert set(cli) - set(pipeline) == CLI_ONLY and set(pipeline) <= set(cli)
    for key in pipeline:  # block by block, down to every router's, subject's and estimate reading's keys
        assert shape(cli[key]) == shape(pipeline[key]), key
    assert {"routers", "estimate", "cost", "router_summaries", "route_seconds", "router_params"} <= set(pipeline)
    assert {"timings_s", "seed", "embedder", "keys_from"} <= set(cli["run"])


def test_both_fronts_measure_the_same_routers_alike(front):
    cli, pipeline = front
    assert cli["primary"] == pipeline["primary"] == ALL_ROUTERS[0]
    assert cli["test_set_id"] == pipeline["test_set_id"] and cli["run"]["embedder"] == "tfidf"
    for name, r in pipeline["routers"].items():
        assert cli["routers"][name]["top1"] == pytest.approx(r["top1"]), name
        assert cli["routers"][name]["top3_vote"] == pytest.approx(r["top3_vote"]), name
    for name, e in pipeline["estimate"]["routers"].items():
        assert cli["estimate"]["routers"][name]["top1"] == pytest.approx(e["top1"]), name
    assert cli["cost"]["cost_curve"]["aiq"] == pytest.approx(pipeline["cost"]["cost_curve"]["aiq"])
    assert cli["router_summaries"][ALL_ROUTERS[0]]["level"] == pipeline["router_summaries"][ALL_ROUTERS[0]]["level"]
