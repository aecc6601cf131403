"""The recorded pipeline's step cache sees the data's content (issue 13, class 2): after deleting a response
file or editing one, a rerun loads the data again and registers a router over the new pool, instead of a new
version with the old pool and metrics from the cache."""

from __future__ import annotations

import pytest

from tests.pipelines.conftest import rewrite_answers, rgd, run_inspect_script
from tests.rgd.conftest import synthetic_pool, write_recorded

INSPECT = r"""
import json
from zenml.client import Client
import materializers
run = Client().get_pipeline("rgd_recorded").last_run
pool = run.steps["load_recorded_data"].outputs["pool_responses"][0].load()
print("JSON:" + json.dumps({"status": {name: str(s.status) for name, s in run.steps.items()},
                            "pool": list(pool.models), "answers": pool.choices.tolist()}))
"""


def _last_run(home) -> dict:
    return run_inspect_script(home, INSPECT, "inspect_recorded.py")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_recorded_cache")
    rows, preds, _ = synthetic_pool(120)
    data = write_recorded(home / "pool", rows, preds)
    config = home / "recorded.yaml"
    config.write_text(f"name: rec\npipeline: recorded\nrecorded: {{dir: {data}}}\nembedder: tfidf\n"
                      "router: {name: cascal, baselines: [best_single, random]}\n"
                      "registry: {model_name: rec-router}\n")
    rgd(home, "run", "--config", str(config))
    first = _last_run(home)
    rgd(home, "run", "--config", str(config))
    same = _last_run(home)
    (data / "responses" / "expert-music.jsonl.gz").unlink()
    rgd(home, "run", "--config", str(config))
    dropped = _last_run(home)
    rewrite_answers(data / "responses" / "expert-cooking.jsonl.gz", "A")
    rgd(home, "run", "--config", str(config))
    edited = _last_run(home)
    return {"first": first, "same": same, "dropped": dropped, "edited": edited}


def test_unchanged_data_is_taken_from_the_cache(runs):
    assert "cached" in runs["same"]["status"]["load_recorded_data"]
    assert runs["same"]["pool"] == runs["first"]["pool"]


def test_deleted_response_file_loads_again(runs):
    assert "expert-music" in runs["first"]["pool"]
    assert "cached" not in runs["dropped"]["status"]["load_recorded_data"]
    assert runs["dropped"]["pool"] == [m for m in runs["first"]["pool"] if m != "expert-music"]


def test_edited_response_file_loads_again(runs):
    edited = runs["edited"]
    assert "cached" not in edited["status"]["load_recorded_data"]
    assert "cached" not in edited["status"]["train_router"]
    row = edited["answers"][edited["pool"].index("expert-cooking")]
    assert set(row) == {0}  # every recorded pred is now "A"
