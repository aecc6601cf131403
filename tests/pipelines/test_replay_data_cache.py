"""The training pipeline's step cache sees a recorded replay's files (issue 13, class 2, the sibling of the
recorded pipeline's): editing the generator's recorded answers reruns generate_questions, editing a pool
model's recorded answers reruns the respond steps, and an unchanged pack is taken from the cache. Before, both
steps were keyed on the config (which holds only the directory's path) and a rerun trained on the old files."""

from __future__ import annotations

import pytest

from tests.pipelines.conftest import rewrite_answers, rgd, run_inspect_script, write_generator_keys, write_replay_config
from tests.rgd.conftest import synthetic_pool, write_recorded

INSPECT = r"""
import json
from zenml.client import Client
import materializers
run = Client().get_pipeline("rgd_training").last_run
generated = run.steps["generate_questions"].outputs["generated_questions"][0].load()
print("JSON:" + json.dumps({"status": {name: str(s.status) for name, s in run.steps.items()},
                            "keys": [q.answer for q in generated.questions]}))
"""


def _last_run(home) -> dict:
    return run_inspect_script(home, INSPECT, "inspect_replay.py")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_replay_cache")
    rows, preds, _ = synthetic_pool(160)
    pack = write_recorded(home / "pool", rows, preds)
    generator_pack = write_recorded(home / "generator", rows, {})  # the same questions, the generator's answers
    write_generator_keys(generator_pack, rows, [r["answer"] for r in rows])
    config = write_replay_config(home / "replay.yaml", "replay-cache", generator_pack, pack, sorted(preds),
                                 generation={"n_per_subject": 40},
                                 router={"name": "cascal", "baselines": ["best_single"]})
    out = {}
    rgd(home, "run", "--config", str(config))
    out["first"] = _last_run(home)
    rgd(home, "run", "--config", str(config))
    out["same"] = _last_run(home)
    rewrite_answers(generator_pack / "generators" / "gen-recorded.jsonl.gz", "A")  # the generator now keys every one A
    rgd(home, "run", "--config", str(config))
    out["generator_edited"] = _last_run(home)
    rewrite_answers(pack / "responses" / "expert-music.jsonl.gz", "B")
    rgd(home, "run", "--config", str(config))
    out["pool_edited"] = _last_run(home)
    rgd(home, "run", "--config", str(config), "--no-cache")
    out["no_cache"] = _last_run(home)
    return out


def _cached(run: dict, step: str) -> bool:
    return "cached" in run["status"][step]


def test_an_unchanged_replay_is_taken_from_the_cache(runs):
    assert not _cached(runs["first"], "generate_questions")
    assert _cached(runs["same"], "generate_questions") and _cached(runs["same"], "respond_expert_music")


def test_editing_the_generators_answers_generates_again(runs):
    edited = runs["generator_edited"]
    assert not _cached(edited, "generate_questions")
    assert set(runs["first"]["keys"]) != {"A"} and set(edited["keys"]) == {"A"}


def test_editing_a_pool_models_answers_answers_again(runs):
    edited = runs["pool_edited"]
    assert _cached(edited, "generate_questions")  # the generator's files did not change this time
    assert not _cached(edited, "respond_expert_music") and not _cached(edited, "respond_expert_cooking")


def test_no_cache_runs_every_step_again(runs):
    assert not any(_cached(runs["no_cache"], step) for step in runs["no_cache"]["status"])
