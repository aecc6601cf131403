"""A crash injected in respond fails the run clearly; the rerun reuses cached steps and loses no answers.
A corrupt or tampered router artifact is refused, never loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.pipelines.conftest import SMALL_POOL, inspect_last_run, rgd

FAIL_MODEL = SMALL_POOL[2]
FAIL_STEP = f"respond_{FAIL_MODEL.replace('-', '_')}"
FAIL_AFTER = 48  # a multiple of checkpoint_every (16)


@pytest.fixture(scope="module")
def crashed_then_resumed(tmp_path_factory, small_config):
    home = tmp_path_factory.mktemp("rgd_crash")
    crashed = rgd(home, "run", "--config", str(small_config), check=False,
                  RGD_FAIL_RESPOND_AFTER=str(FAIL_AFTER), RGD_FAIL_RESPOND_MODEL=FAIL_MODEL)
    checkpoints = sorted((home / "checkpoints" / "respond").glob(f"*/{FAIL_MODEL.replace('-', '_')}.jsonl"))
    saved = [len(p.read_text().splitlines()) - 1 for p in checkpoints]  # minus the header line
    resumed = rgd(home, "run", "--config", str(small_config))
    return {"home": home, "crashed": crashed, "saved": saved, "resumed": resumed, "run": inspect_last_run(home)}


def test_crash_fails_the_run_with_a_clear_message(crashed_then_resumed):
    crashed = crashed_then_resumed["crashed"]
    assert crashed.returncode != 0
    text = crashed.stdout + crashed.stderr
    assert "injected failure" in text and FAIL_MODEL in text
    assert "Rerun the same command to resume" in text
    assert crashed_then_resumed["saved"] == [FAIL_AFTER], "the answers before the crash are checkpointed"


def test_rerun_reuses_cached_steps_and_loses_no_answers(crashed_then_resumed):
    steps = crashed_then_resumed["run"]["steps"]
    assert crashed_then_resumed["run"]["status"] == "completed"
    assert steps["generate_questions"]["status"] == "cached"
    assert steps["load_test_set"]["status"] == "cached"
    done_before = [f"respond_{m.replace('-', '_')}" for m in SMALL_POOL[:2]]
    for name in done_before:  # the local orchestrator ran these before the failing one
        assert steps[name]["status"] == "cached", name
    meta = steps[FAIL_STEP]["metadata"]
    assert steps[FAIL_STEP]["status"] == "completed"
    assert meta["resumed_from_checkpoint"] == FAIL_AFTER
    assert meta["answered_now"] == meta["n_questions"] - FAIL_AFTER
    assert "promoted to champion" in crashed_then_resumed["resumed"].stdout


def _artifact_dir(run: dict, step: str, output: str) -> Path:
    return Path(run["steps"][step]["outputs"][output][0]["uri"])


def test_corrupt_router_artifacts_are_refused(crashed_then_resumed, tmp_path):
    from materializers.routers import RouterBundleMaterializer, RouterSetMaterializer
    from rgd.errors import ArtifactError
    from rgd.routers.bundle import RouterBundle
    from rgd.workflow.artifacts import RouterSet

    run = crashed_then_resumed["run"]
    bundle_src = _artifact_dir(run, "train_router", "router_bundle")
    intact = RouterBundleMaterializer(str(bundle_src)).load(RouterBundle)
    assert intact.router.name == "cascal"

    tampered = tmp_path / "bundle"
    shutil.copytree(bundle_src, tampered)
    doc_path = tampered / "data" / "router" / "router.json"
    doc = json.loads(doc_path.read_text())
    doc["models"] = list(reversed(doc["models"]))  # a silently wrong router
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="modified|sha256"):
        RouterBundleMaterializer(str(tampered)).load(RouterBundle)

    routers = tmp_path / "routers"
    shutil.copytree(_artifact_dir(run, "train_router", "routers"), routers)
    (routers / "data" / "cascal" / "arrays.npz").write_bytes(b"\x80\x04not numpy at all")
    with pytest.raises(ArtifactError, match="corrupt"):
        RouterSetMaterializer(str(routers)).load(RouterSet)

    future = tmp_path / "future"
    shutil.copytree(_artifact_dir(run, "train_router", "routers"), future)
    meta = json.loads((future / "data" / "meta.json").read_text())
    meta["version"] = 99
    (future / "data" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="version 99 is not supported"):
        RouterSetMaterializer(str(future)).load(RouterSet)
