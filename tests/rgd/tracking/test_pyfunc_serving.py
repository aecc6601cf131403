"""The registered router as an MLflow pyfunc: loaded in a fresh process, served over HTTP, refused if tampered."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from rgd.tracking import log_router, promote  # noqa: E402
from tests.rgd.serving.gateway_process import stop_group  # noqa: E402

NAME = "served"
QUESTIONS = ["which enzyme binds the cell membrane protein?", "which treaty ended the war of the empire?"]


@pytest.fixture(scope="module")
def champion(mlflow_home, bundle_dir):
    rv = log_router(
        bundle_dir, model_name=NAME, params={"router": "cascal"}, metrics={"top1": 0.6},
        tags={"generator": "sim", "test_set_id": "t"}, input_examples=QUESTIONS[:1],
    )
    assert promote(NAME, rv.version, test_set_id="t").promoted
    return rv


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # as in an activated venv: `mlflow models serve` runs `uvicorn` from PATH (CI calls .venv/bin/python directly)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{home}/mlflow/mlflow.db"
    env["RGD_HOME"] = str(home)
    return env


def test_logged_model_is_data_only_with_signature_and_requirements(champion, tmp_path):
    import yaml

    local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/{champion.version}", dst_path=str(tmp_path)))
    files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    assert "data/cascal/manifest.json" in files and "input_example.json" in files  # the bundle dir's name
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))], files
    # no executable code ships with a version: MLflow imports rgd's installed loader module
    assert not [f for f in files if f.endswith((".py", ".pyc", ".so"))], files
    flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "rgd.tracking.pyfunc_model" and not flavor.get("code")
    reqs = (local / "requirements.txt").read_text().splitlines()
    for pkg in ("rgd-router==", "numpy==", "scikit-learn==", "pydantic==", "mlflow"):
        assert any(r.startswith(pkg) for r in reqs), (pkg, reqs)
    assert not any(r.startswith("sentence-transformers") for r in reqs)  # tf-idf embedder
    info = mlflow.models.get_model_info(f"models:/{NAME}/{champion.version}")
    assert info.signature.inputs.input_names() == ["question"]
    assert [c.name for c in info.signature.outputs.inputs] == ["models", "scores", "top1", "subject", "warning",
                                                                "out_of_distribution", "training_similarity", "note"]
    assert info.signature.params.to_dict()[0]["name"] == "k"


def test_champion_loads_and_routes_in_a_fresh_process(champion, mlflow_home):
    script = f"""
import json, mlflow, pandas as pd
model = mlflow.pyfunc.load_model("models:/{NAME}@champion")
out = model.predict(pd.DataFrame({{"question": {QUESTIONS!r}}}), params={{"k": 2}})
print("RESULT" + json.dumps(out.to_dict(orient="records")))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], env=_env(mlflow_home), cwd=mlflow_home, capture_output=True, text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    rows = json.loads(line[len("RESULT"):])
    assert [r["top1"] for r in rows] == ["bio-expert", "history-expert"]
    assert [r["subject"] for r in rows] == ["biology", "history"]
    assert all(len(json.loads(r["models"])) == 2 for r in rows)


def test_tampered_bundle_in_the_artifact_store_is_refused(mlflow_home, bundle_dir):
    rv = log_router(bundle_dir, model_name="tamper-me", metrics={"top1": 0.5}, tags={"test_set_id": "t"})
    local = mlflow.artifacts.download_artifacts(f"models:/tamper-me/{rv.version}")
    source = mlflow.MlflowClient().get_model_version_download_uri("tamper-me", rv.version)
    store_dir = Path(source.removeprefix("file://"))
    assert store_dir.is_dir() and Path(local).is_dir()
    (arrays,) = store_dir.glob("data/*/router/arrays.npz")
    data = bytearray(arrays.read_bytes())
    data[100] ^= 0xFF
    arrays.write_bytes(bytes(data))
    with pytest.raises(Exception, match="modified after it was written"):
        mlflow.pyfunc.load_model(f"models:/tamper-me/{rv.version}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_mlflow_models_serve_routes_with_the_champion(champion, mlflow_home, tmp_path):
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    if not mlflow_cli.exists():
        pytest.skip(f"no mlflow command next to {sys.executable}")
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(mlflow_cli), "models", "serve", "-m", f"models:/{NAME}@champion", "--env-manager", "local",
             "--host", "127.0.0.1", "-p", str(port)],
            env=_env(mlflow_home), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.skip(f"mlflow models serve exited ({proc.returncode}): {log_path.read_text()[-1500:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.skip(f"mlflow models serve did not come up in 120 s: {log_path.read_text()[-1500:]}")
            time.sleep(0.5)
        out = _post(
            f"http://127.0.0.1:{port}/invocations",
            {"dataframe_split": {"columns": ["question"], "data": [[q] for q in QUESTIONS]}, "params": {"k": 3}},
        )
        preds = out["predictions"]
        assert [p["top1"] for p in preds] == ["bio-expert", "history-expert"]
        assert all(len(json.loads(p["models"])) == 3 for p in preds)
        out = _post(f"http://127.0.0.1:{port}/invocations", {"inputs": {"question": [QUESTIONS[0]]}})
        assert out["predictions"][0]["subject"] == "biology"
        for payload, says in [({"inputs": {"question": [QUESTIONS[0]]}, "params": {"k": 0}}, "k must be at least 1"),
                              ({"dataframe_split": {"columns": ["question"], "data": [["ok?"], [None]]}},
                               "row 1: a question must be a text")]:
            with pytest.raises(urllib.error.HTTPError) as caught:
                _post(f"http://127.0.0.1:{port}/invocations", payload)
            body = json.loads(caught.value.read())
            assert caught.value.code == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
            assert says in body["message"] and "stack_trace" not in body, body
    finally:
        stop_group(proc, log, timeout=20)


EVIL = "import pathlib; pathlib.Path({marker!r}).write_text('executed')\n"


def _store_dir(name: str, version: str) -> Path:
    source = mlflow.MlflowClient().get_model_version_download_uri(name, version)
    store_dir = Path(source.removeprefix("file://"))
    assert store_dir.is_dir() and (store_dir / "MLmodel").is_file()
    return store_dir


def _plant_code(store_dir: Path, marker: Path) -> None:
    """What an attacker with write access to the artifact store does: append code to every code file of the
    logged model, and (as this version ships none) add a module and point MLmodel's loader at it."""
    import yaml

    for py in store_dir.rglob("*.py"):
        py.write_text(py.read_text() + "\n" + EVIL.format(marker=str(marker)))
    (store_dir / "code").mkdir(exist_ok=True)
    (store_dir / "code" / "rgd_evil_loader.py").write_text(
        EVIL.format(marker=str(marker)) + "def _load_pyfunc(path):\n    raise SystemExit('evil')\n")
    meta = yaml.safe_load((store_dir / "MLmodel").read_text())
    meta["flavors"]["python_function"].update(loader_module="rgd_evil_loader", code="code")
    (store_dir / "MLmodel").write_text(yaml.safe_dump(meta))


def test_tampered_model_code_in_the_artifact_store_is_refused_never_executed(mlflow_home, bundle_dir, tmp_path):
    from click.testing import CliRunner

    from rgd.cli import main

    name = "tamper-code"
    rv = log_router(bundle_dir, model_name=name, metrics={"top1": 0.5}, tags={"test_set_id": "t"})
    assert promote(name, rv.version, test_set_id="t").promoted
    runner = CliRunner()
    ok = runner.invoke(main, ["route", "which enzyme binds the cell membrane protein?", "--name", name, "--json"])
    assert ok.exit_code == 0, ok.output
    marker = tmp_path / "executed.txt"
    _plant_code(_store_dir(name, rv.version), marker)
    for args in (["--version", rv.version], ["--alias", "champion"]):
        res = runner.invoke(main, ["route", "which enzyme binds the cell protein?", "--name", name, *args])
        assert res.exit_code != 0
        assert "do not match the sha256 recorded in the registry" in res.output, res.output
        assert "Traceback" not in res.output
        assert not marker.exists(), "tampered model code was executed"


def test_any_changed_file_of_the_logged_model_is_refused(mlflow_home, bundle_dir):
    from rgd.errors import ArtifactError
    from rgd.tracking.model_files import load_verified

    name = "tamper-files"
    rv = log_router(bundle_dir, model_name=name, metrics={"top1": 0.5}, tags={"test_set_id": "t"})
    store = _store_dir(name, rv.version)
    assert load_verified(name, version=rv.version) is not None
    requirements = store / "requirements.txt"
    original = requirements.read_text()
    requirements.write_text(original + "evil-package==6.6.6\n")  # an env manager would install it
    with pytest.raises(ArtifactError, match="do not match"):
        load_verified(name, version=rv.version)
    requirements.write_text(original)
    (store / "extra.txt").write_text("added")
    with pytest.raises(ArtifactError, match="do not match"):
        load_verified(name, version=rv.version)
    (store / "extra.txt").unlink()
    assert load_verified(name, version=rv.version) is not None


def test_the_batch_routing_step_refuses_tampered_model_code_too(mlflow_home, bundle_dir, tmp_path):
    """rgd_route_batch's step loads the version through the same verified path as `rgd route`."""
    from rgd.errors import ArtifactError
    from steps.route import route_batch

    name = "tamper-batch"
    rv = log_router(bundle_dir, model_name=name, metrics={"top1": 0.5}, tags={"test_set_id": "t"})
    assert promote(name, rv.version, test_set_id="t").promoted
    marker = tmp_path / "executed.txt"
    _plant_code(_store_dir(name, rv.version), marker)
    for kwargs in ({"version": rv.version}, {"alias": "champion"}):
        with pytest.raises(ArtifactError, match="do not match the sha256 recorded in the registry"):
            route_batch.entrypoint(["which enzyme binds the cell protein?"], model_name=name, **kwargs)
        assert not marker.exists(), "tampered model code was executed"
