"""`rgd pool add` on a recorded replay (a synthetic pack): only the added model answers, every other step that
did not change comes from ZenML's cache, and the new version is promoted by the gate alone, the champion having
been measured again on the new version's held-out questions with the new pool."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pipelines.conftest import inspect_last_run, mlflow_client, rgd, write_generator_keys, write_replay_config
from tests.rgd.conftest import synthetic_pool, write_recorded


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_pool_add")
    rows, preds, _ = synthetic_pool(1200)
    pack = write_recorded(home / "pack", rows, preds)
    rng = np.random.default_rng(7)
    write_generator_keys(pack, rows, [r["answer"] if rng.random() < 0.75 else "ABCD"[int(rng.integers(4))]
                                      for r in rows])
    models = sorted(preds)
    base = write_replay_config(home / "replay.yaml", "pool-add", pack, pack, models[:-1],
                               generation={"n_per_subject": 420}, router={"baselines": ["best_single", "knn"]})
    first = rgd(home, "run", "--config", str(base))
    if "promoted to champion" not in first.stdout:  # setup: a champion to compare with (not what is tested)
        rgd(home, "promote", "1")
    second = rgd(home, "pool", "add", models[-1], "--config", str(base), "--save", str(home / "added.yaml"))
    return {"home": home, "first": first, "second": second, "models": models, "saved": home / "added.yaml"}


def test_only_the_added_model_answers_and_the_rest_is_cached(added):
    steps = inspect_last_run(added["home"])["steps"]
    new = "respond_" + added["models"][-1].replace("-", "_")
    assert steps[new]["status"].endswith("completed") and steps[new]["metadata"]["answered_now"] > 0
    for name, s in steps.items():
        if name.startswith("respond_") and name != new or name in ("generate_questions", "load_test_set"):
            assert s["status"].endswith("cached"), (name, s["status"])
    assert added["models"][-1] in added["saved"].read_text()


def test_the_gate_compares_with_the_champion_measured_again_in_the_new_pool(added):
    out = added["second"].stdout
    assert "pool change (added)" in out and "promote by hand" not in out, out[-3000:]
    client = mlflow_client(added["home"])
    v2 = client.get_model_version("rgd-router", "2")
    assert v2.tags["pool_change.champion"] == "1" and v2.tags["pool_change.case"] == "added"
    metrics = client.get_run(v2.run_id).data.metrics
    assert {"champion_remeasured.estimated_top1", "champion_remeasured.estimated_top1_keys"} <= set(metrics)
    # the expert of the added topic makes the new version better, and the gate says so by itself
    assert metrics["estimated_top1"] > metrics["champion_remeasured.estimated_top1"]
    assert str(client.get_model_version_by_alias("rgd-router", "champion").version) == "2"
    assert v2.tags["promotion.decision"] == "promoted" and "measured again" in v2.tags["promotion.reason"]
