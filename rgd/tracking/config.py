"""Where MLflow keeps its records: one local project directory by default, a server when configured.

Local default: a SQLite tracking/registry store at ``$RGD_HOME/mlflow/mlflow.db`` and artifacts under
``$RGD_HOME/mlflow/artifacts`` (``RGD_HOME`` defaults to ``./.rgd``). An explicit URI (from a run config)
wins over ``MLFLOW_TRACKING_URI``, which wins over the local default.
"""

from __future__ import annotations

import os
from pathlib import Path

from rgd.config.aliases import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME  # noqa: F401 - re-exported
from rgd.home import rgd_home

# mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI (for subprocesses); remember what we exported,
# so that a value we set ourselves is not mistaken for the user's choice on the next configure_mlflow call
_exported: str | None = None


def mlflow_dir(home: str | Path | None = None) -> Path:
    return rgd_home(home) / "mlflow"


def local_tracking_uri(home: str | Path | None = None) -> str:
    return f"sqlite:///{(mlflow_dir(home) / 'mlflow.db').as_posix()}"


def local_artifact_root(home: str | Path | None = None) -> str:
    return (mlflow_dir(home) / "artifacts").as_uri()


def tracking_uri(rgd_home: str | Path | None = None, uri: str | None = None) -> str:
    """The tracking URI to use: ``uri`` if given, else ``$MLFLOW_TRACKING_URI``, else the local SQLite store."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env and env != _exported:
        return env
    return local_tracking_uri(rgd_home)


def is_local_default(uri: str, home: str | Path | None = None) -> bool:
    return uri == local_tracking_uri(home)


def configure_mlflow(
    uri: str | None = None, rgd_home: str | Path | None = None, experiment: str = DEFAULT_EXPERIMENT
) -> str:
    """Point MLflow's tracking and registry at ``tracking_uri(...)`` and make sure ``experiment`` exists.

    With the local default the experiment's artifacts go under ``$RGD_HOME/mlflow/artifacts``; a server
    keeps its own artifact root. Returns the tracking URI.
    """
    import mlflow

    global _exported
    env = os.environ.get("MLFLOW_TRACKING_URI")
    from_user_env = not uri and bool(env) and env != _exported
    resolved = tracking_uri(rgd_home, uri)
    artifact_location = None
    if is_local_default(resolved, rgd_home):
        mlflow_dir(rgd_home).mkdir(parents=True, exist_ok=True)
        artifact_location = local_artifact_root(rgd_home)
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    if not from_user_env:
        _exported = resolved  # we chose it (explicit or local default): not the user's env setting
    from rgd.tracking.locking import registry_lock

    # the first use of a local store creates its schema: one process at a time (two `rgd run` in a fresh home)
    with registry_lock(resolved):
        client = mlflow.MlflowClient(tracking_uri=resolved, registry_uri=resolved)
        if client.get_experiment_by_name(experiment) is None:
            try:
                client.create_experiment(experiment, artifact_location=artifact_location)
            except Exception:  # noqa: BLE001 - created concurrently by another process: fine if it exists now
                if client.get_experiment_by_name(experiment) is None:
                    raise
    return resolved
