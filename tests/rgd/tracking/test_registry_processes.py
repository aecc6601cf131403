"""The registry under real process kills and real concurrent processes (each its own Python, one fresh store)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from click.testing import CliRunner  # noqa: E402

from tests.paths import REPO_ROOT  # noqa: E402

NAME = "procs"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RGD_"))}
    env.update(RGD_HOME=str(home), PYTHONPATH=str(REPO_ROOT), MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
    return env


def _child(home: Path, bundle: Path, top1: float, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.rgd.tracking.registry_child", str(bundle), NAME, str(top1), *extra],
        cwd=REPO_ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen, timeout: float = 240) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[len("RESULT "):])


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A fresh RGD_HOME; this process's MLflow client pointed at its SQLite store."""
    from rgd.tracking.config import configure_mlflow

    home = tmp_path / "home"
    monkeypatch.setenv("RGD_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield home
    if (home / "mlflow").exists():
        configure_mlflow(rgd_home=home)  # leave MLflow pointed somewhere that exists
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _client(home: Path):
    from rgd.tracking.config import configure_mlflow

    configure_mlflow(rgd_home=home)
    return mlflow.MlflowClient()


def test_kill_during_registration_leaves_nothing_promote_accepts_or_that_blocks_promotion(store, bundle_dir):
    from rgd.cli import main

    killed = _child(store, bundle_dir, 0.9, "--kill-after-version")
    killed.communicate(timeout=240)
    assert killed.returncode == -signal.SIGKILL
    client = _client(store)
    versions = client.search_model_versions(f"name = '{NAME}'")
    runner = CliRunner()
    for mv in versions:  # whatever the kill left is either complete, or refused
        tags = dict(mv.tags)
        res = runner.invoke(main, ["promote", str(mv.version), "--name", NAME])
        if res.exit_code == 0:
            for key in ("test_set_id", "source_run_id", "model_files_sha256", "bundle_sha256", "generator"):
                assert key in tags, f"`rgd promote` accepted v{mv.version} without its {key!r} tag: {tags}"
            runner.invoke(main, ["promote", "--rollback", "--name", NAME])
            client.delete_registered_model_alias(NAME, "champion")
        else:
            assert "incomplete" in res.output and "Traceback" not in res.output, res.output
    # a later registration in a new process becomes champion: nothing blocks it
    later = _result(_child(store, bundle_dir, 0.7))
    assert later["promoted"], later["reason"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == later["version"]


def test_an_incomplete_version_is_never_promoted_nor_blocks_later_ones(mlflow_home, bundle_dir, tmp_path):
    """A version registered without rgd's complete tag (an interrupted registration of an older rgd, or made by
    hand in MLflow) is refused by `promote` and `rgd promote`, and the next complete version still wins."""
    from rgd.cli import main
    from rgd.errors import ParameterError
    from rgd.tracking import log_router, promote, set_alias_manually

    name = "orphans"
    client = mlflow.MlflowClient()
    ok = log_router(bundle_dir, model_name=name, metrics={"top1": 0.5}, tags={"test_set_id": "t"})
    orphan = mlflow.register_model(f"runs:/{ok.run_id}/router", name)  # no tags at all, as a kill left them
    decision = promote(name, orphan.version, test_set_id="t")
    assert not decision.promoted and "incomplete" in decision.reason
    assert client.get_model_version(name, orphan.version).tags["promotion.decision"] == "refused"
    with pytest.raises(ParameterError, match="incomplete"):
        set_alias_manually(name, orphan.version)
    res = CliRunner().invoke(main, ["promote", str(orphan.version), "--name", name])
    assert res.exit_code != 0 and "incomplete" in res.output and "Traceback" not in res.output
    table = CliRunner().invoke(main, ["models", "--name", name])
    assert table.exit_code == 0 and "incomplete (never promoted)" in table.output, table.output
    assert promote(name, ok.version, test_set_id="t").promoted
    later = log_router(bundle_dir, model_name=name, metrics={"top1": 0.6}, tags={"test_set_id": "t"})
    assert promote(name, later.version, test_set_id="t").promoted


def test_concurrent_registrations_and_promotions_in_a_fresh_home(store, bundle_dir, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    scores = (0.8, 0.6, 0.7)
    procs = [_child(store, bundle_dir, s, "--barrier", str(barrier), str(len(scores)), "--slow-reads", "0.5")
             for s in scores]
    results = [_result(p) for p in procs]
    client = _client(store)
    versions = {r["version"]: s for r, s in zip(results, scores)}
    assert sorted(versions) == ["1", "2", "3"], results  # three distinct versions, none lost or crashed
    best = max(versions, key=versions.get)
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert str(champion.version) == best, (results, champion.version)
    for r in results:
        tags = client.get_model_version(NAME, r["version"]).tags
        assert tags["promotion.decision"] in ("promoted", "refused") and tags["registration"] == "complete"
    # whoever was compared, the champion chain is consistent: a refused version lost to a better champion
    for r in results:
        if not r["promoted"]:
            assert r["champion_metric"] is not None and r["champion_metric"] >= r["challenger_metric"], r
