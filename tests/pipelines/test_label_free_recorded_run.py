"""`rgd run --config` with a real-model config and no test_set, through recorded replay: a recorded generator
(the train split's questions keyed with a model's recorded answers) and a recorded pool (every pool model's
recorded answers). The run takes the real-model path (LLMSource, the recorded backend, answer checkpoints),
is evaluated on held-out generated questions only, and ends with a registered, promoted router."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pipelines.conftest import mlflow_client, rgd, write_generator_keys, write_replay_config
from tests.rgd.conftest import synthetic_pool, write_recorded


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_label_free_recorded")
    rows, preds, _ = synthetic_pool(400)
    pack = write_recorded(home / "pack", rows, preds)
    rng = np.random.default_rng(7)
    keys = [r["answer"] if rng.random() < 0.75 else "ABCD"[int(rng.integers(4))] for r in rows]  # 75% right
    write_generator_keys(pack, rows, keys)
    config = write_replay_config(home / "replay.yaml", "label-free-replay", pack, pack, sorted(preds),
                                 generation={"n_per_subject": 140},
                                 router={"baselines": ["best_single", "knn", "random"]})  # default: truth_cluster
    first = rgd(home, "run", "--config", str(config))
    return {"home": home, "first": first, "pool": sorted(preds)}



def test_replay_runs_label_free_to_a_registered_promoted_router(replayed):
    out = replayed["first"]
    assert "label-free end to end" in out.stderr
    assert "held-out generated questions" in out.stdout and "test set:" not in out.stdout
    assert "promoted to champion" in out.stdout, out.stdout[-2000:]
    client = mlflow_client(replayed["home"])
    mv = client.get_model_version_by_alias("rgd-router", "champion")
    assert mv.tags["label_free"] == "true" and mv.tags["estimate_on"] == "holdout"
    assert mv.tags["promotion.metric"] == "estimated_top1"
    run = client.get_run(mv.run_id)
    assert run.data.params["router"] == "truth_cluster" and run.data.params["generators"] == "gen-recorded"
    assert run.data.params["pool"] == ",".join(replayed["pool"])
    metrics = run.data.metrics
    assert "top1" not in metrics and metrics["estimated_top1"] > metrics["best_single.estimated_top1"]
