"""Pipeline tests run ``rgd`` in subprocesses whose ZenML config, ZenML store and MLflow store live in a
temporary RGD_HOME (set before ZenML is imported there), so no global ZenML/MLflow state is touched and
the in-process ZenML of other test modules does not matter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("zenml")
pytest.importorskip("mlflow")

from tests.paths import REPO_ROOT as REPO

RGD_SCRIPT = Path(sys.executable).with_name("rgd")
SMALL_CONFIG = """
name: small
simulated:
  world: {seed: 0, n_subjects: 3, niches_per_subject: 3}
  pool: {seed: 0, n_specialists: 3, n_generalists: 1}
  n_test: 150
generators: [strong]
generation: {n_per_subject: 40, self_answer_samples: 3}
embedder: tfidf
# these tests are about the pipeline's mechanics (steps, registry, gate, lineage, resume) on a tiny world
# (~50 training questions): they register the paper's CASCAL, whose ranking of a strong and a weak generator's
# data is stable at that size; the product's default router is measured in benchmarks/ and test_run_cli
router: {name: cascal, baselines: [best_single, knn, random]}
respond: {checkpoint_every: 16}
"""
SMALL_POOL = ["sim-specialist-biol-1", "sim-specialist-chem-1", "sim-specialist-phys-1", "sim-generalist-large"]


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_", "RGD_"))}
    zdir = home / "zenml"
    env.update(RGD_HOME=str(home), ZENML_CONFIG_PATH=str(zdir), ZENML_LOCAL_STORES_PATH=str(zdir / "local_stores"),
               ZENML_ANALYTICS_OPT_IN="false", ZENML_LOGGING_VERBOSITY="WARN", AUTO_OPEN_DASHBOARD="false",
               PYTHONPATH=str(REPO), **extra)
    return env


def rgd(home: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    # the console script: ZenML needs a main module with a file to find its source root
    proc = subprocess.run([str(RGD_SCRIPT), *args], cwd=home, env=isolated_env(home, **env), capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"rgd {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


INSPECT = r"""
import json, sys
from zenml.client import Client
run = Client().get_pipeline_run(sys.argv[1]) if sys.argv[1] else Client().get_pipeline(sys.argv[2]).last_run
out = {"id": str(run.id), "status": str(run.status), "steps": {}}
for name, s in run.steps.items():
    out["steps"][name] = {
        "status": str(s.status),
        "metadata": {k: getattr(v, "value", v) for k, v in (s.run_metadata or {}).items()},
        "outputs": {o: [{"id": str(a.id), "uri": a.uri, "type": a.data_type.attribute if a.data_type else None,
                         "metadata": {k: getattr(v, "value", v) for k, v in (a.run_metadata or {}).items()},
                         "visualizations": [v.uri for v in (a.visualizations or [])]}
                        for a in arts] for o, arts in s.outputs.items()},
    }
print("JSON:" + json.dumps(out, default=str))
"""


def inspect_last_run(home: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", INSPECT, "", "rgd_training"], cwd=home, env=isolated_env(home),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr[-3000:])
    line = next(x for x in proc.stdout.splitlines() if x.startswith("JSON:"))
    return json.loads(line[5:])


def mlflow_client(home: Path):
    """An MlflowClient on the local store of an isolated ``rgd`` home."""
    import mlflow

    uri = f"sqlite:///{(home / 'mlflow' / 'mlflow.db').as_posix()}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(SMALL_CONFIG)
    return path
