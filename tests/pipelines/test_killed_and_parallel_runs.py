"""Two `rgd run` at once in a fresh home both finish and register; a killed `rgd run` does not stay "running"
in ZenML: the next `rgd run` marks it failed. Real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.conftest import RGD_SCRIPT, SMALL_CONFIG, isolated_env, rgd

RUNS = r"""
import json
from zenml.client import Client
runs = Client().list_pipeline_runs(size=50, sort_by="asc:created").items
print("JSON:" + json.dumps([{"name": r.name, "status": str(r.status), "reason": r.get_body().status_reason} for r in runs]))
"""


def _runs(home: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", RUNS], cwd=home, env=isolated_env(home), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("JSON:"))[5:])


def _start(home: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen([str(RGD_SCRIPT), "run", "--config", str(config)], cwd=home, env=isolated_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_config):
    home = tmp_path_factory.mktemp("rgd_parallel")
    # 1. two runs at once in a fresh home (fresh ZenML and MLflow stores)
    both = [_start(home, small_config), _start(home, small_config)]
    parallel = [p.communicate(timeout=900)[0] for p in both]
    codes = [p.returncode for p in both]
    # 2. a run killed (SIGKILL, whole process group) while its respond steps answer
    other = tmp_path_factory.mktemp("cfg") / "other.yaml"
    other.write_text(SMALL_CONFIG.replace("generation: {", "generation: {seed: 7, "))
    before = set((home / "checkpoints").rglob("*.jsonl"))
    victim = _start(home, other)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and victim.poll() is None:
        if set((home / "checkpoints").rglob("*.jsonl")) - before:
            break
        time.sleep(0.5)
    assert victim.poll() is None, "the run to kill ended before it could be killed:\n" + victim.stdout.read()[-3000:]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    after_kill = _runs(home)
    # 3. the next run marks it failed
    nxt = rgd(home, "run", "--config", str(small_config))
    return {"home": home, "codes": codes, "parallel": parallel, "after_kill": after_kill, "next": nxt,
            "final": _runs(home)}


def test_two_runs_at_once_in_a_fresh_home_both_register(runs):
    assert runs["codes"] == [0, 0], "\n----\n".join(out[-3000:] for out in runs["parallel"])
    import mlflow

    uri = f"sqlite:///{(runs['home'] / 'mlflow' / 'mlflow.db').as_posix()}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions("name = 'rgd-router'")
    assert len(versions) >= 2
    for mv in versions:
        assert mv.tags["registration"] == "complete" and mv.tags["promotion.decision"] in ("promoted", "refused")
    assert client.get_model_version_by_alias("rgd-router", "champion") is not None


def test_a_killed_run_is_marked_failed_by_the_next_run(runs):
    killed = [r for r in runs["after_kill"] if r["status"] not in ("completed", "failed", "cached")]
    assert len(killed) == 1, runs["after_kill"]  # left "running" by the kill
    name = killed[0]["name"]
    final = {r["name"]: r for r in runs["final"]}
    assert final[name]["status"] == "failed" and "killed" in (final[name]["reason"] or ""), final[name]
    assert f"marked pipeline run {name} failed" in runs["next"].stdout + runs["next"].stderr
    assert sum(r["status"] == "completed" for r in runs["final"]) == 3
