"""Each test module gets its own RGD_HOME and SQLite MLflow store in a temp directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("mlflow", reason="the MLflow tests need the 'pipeline' extra (mlflow)")


@pytest.fixture(scope="module")
def mlflow_home(tmp_path_factory) -> Path:
    """A fresh RGD_HOME with MLflow configured on its local SQLite store; restored afterwards."""
    import mlflow

    from rgd.tracking.config import configure_mlflow

    home = tmp_path_factory.mktemp("rgd_home")
    saved = {k: os.environ.get(k) for k in ("RGD_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    os.environ["RGD_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    configure_mlflow(rgd_home=home)
    yield home
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    from tests.rgd.tracking.synthetic import saved_bundle

    return saved_bundle(tmp_path_factory.mktemp("bundle") / "cascal")
