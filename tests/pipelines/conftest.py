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
    return _json_line(proc.stdout)


def _json_line(stdout: str) -> dict:
    return json.loads(next(x for x in stdout.splitlines() if x.startswith("JSON:"))[5:])


def run_inspect_script(home: Path, source: str, filename: str) -> dict:
    """Run ``source`` (which prints ``JSON:`` and a document) as a file in ``home``'s isolated environment: a file,
    not ``-c``, because ZenML loads artifacts relative to the main module's root."""
    script = home / filename
    script.write_text(source)
    proc = subprocess.run([sys.executable, str(script)], cwd=home, env=isolated_env(home), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _json_line(proc.stdout)


def write_generator_keys(pack: Path, rows: list[dict], keys: list[str], model: str = "gen-recorded") -> None:
    """A recorded generator's answers in ``pack/generators/``: ``keys[i]`` for ``rows[i]``."""
    import gzip

    (pack / "generators").mkdir(exist_ok=True)
    with gzip.open(pack / "generators" / f"{model}.jsonl.gz", "wt") as fh:
        fh.write("".join(json.dumps({"question_id": r["question_id"], "pred": k}) + "\n" for r, k in zip(rows, keys)))


def rewrite_answers(path: Path, pred: str) -> None:
    """Every answer of a recorded responses file (``.jsonl.gz``) set to ``pred``: an edit a cache must see."""
    import gzip

    rows = [json.loads(x) for x in gzip.open(path, "rt").read().splitlines()]
    with gzip.open(path, "wt") as fh:
        fh.write("".join(json.dumps({**r, "pred": pred}) + "\n" for r in rows))


def write_replay_config(path: Path, name: str, generator_dir: Path, pool_dir: Path, models: list[str],
                        **sections) -> Path:
    """A training-pipeline config replaying the recorded generator ``gen-recorded`` and a recorded pool."""
    path.write_text(json.dumps({
        "name": name,
        "generators": [{"kind": "recorded", "model": "gen-recorded", "params": {"dir": str(generator_dir)}}],
        "pool": {"kind": "recorded", "params": {"dir": str(pool_dir)}, "models": models},
        "embedder": "tfidf",
        **sections,
    }))
    return path


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
