"""Where MLflow records go, and what the served model needs installed."""

from __future__ import annotations

import pytest

from rgd.tracking.config import local_artifact_root, tracking_uri
from rgd.tracking.log_router import pip_requirements


def test_tracking_uri_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("RGD_HOME", str(tmp_path / "home"))
    assert tracking_uri() == f"sqlite:///{tmp_path}/home/mlflow/mlflow.db"
    assert tracking_uri(tmp_path / "other") == f"sqlite:///{tmp_path}/other/mlflow/mlflow.db"
    assert local_artifact_root() == f"file://{tmp_path}/home/mlflow/artifacts"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.rgd.svc:5000")
    assert tracking_uri() == "http://mlflow.rgd.svc:5000"
    assert tracking_uri(uri="http://from-config:5000") == "http://from-config:5000"


def test_default_home_is_dot_rgd_under_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RGD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve()}/.rgd/mlflow/mlflow.db"


@pytest.mark.parametrize("kind", ["tfidf", "minilm"])
def test_pip_requirements_name_the_project_and_its_runtime(kind):
    reqs = pip_requirements(kind)
    names = [r.split("==")[0] for r in reqs]
    assert names[:4] == ["rgd-router", "numpy", "scikit-learn", "pydantic"]
    assert ("sentence-transformers" in names) == (kind == "minilm")
    assert all("==" in r for r in reqs if not r.startswith(("sentence-transformers", "gt-all")))
