"""Every registered version of a router with its aliases, its run's metrics and its lineage tags."""

from __future__ import annotations

from typing import Any

from rgd.errors import RGDError
from rgd.tracking.config import DEFAULT_MODEL_NAME


class NoRegisteredModelError(RGDError, LookupError):
    """Nothing is registered under the name yet."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no router registered as {name!r} yet: run `rgd run` first")
        self.name = name


def _client():
    import mlflow

    return mlflow.MlflowClient()


def registered_versions(name: str, client=None) -> list[Any]:
    """MLflow ModelVersion objects of ``name``, oldest first; NoRegisteredModelError when none."""
    from mlflow.exceptions import MlflowException

    client = client or _client()
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise NoRegisteredModelError(name) from None
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        raise NoRegisteredModelError(name)
    return sorted(versions, key=lambda mv: int(mv.version))


def aliases_of(name: str, client=None) -> dict[str, list[str]]:
    """version -> its aliases (read from the registered model, which always carries them)."""
    client = client or _client()
    out: dict[str, list[str]] = {}
    for alias, version in (client.get_registered_model(name).aliases or {}).items():
        out.setdefault(str(version), []).append(alias)
    return {v: sorted(a) for v, a in out.items()}


def list_versions(model_name: str = DEFAULT_MODEL_NAME) -> list[dict[str, Any]]:
    """``[{"name", "version", "aliases", "metrics", "tags", "run_id"}]``, oldest version first."""
    client = _client()
    versions = registered_versions(model_name, client)
    aliases = aliases_of(model_name, client)
    rows = []
    for mv in versions:
        metrics: dict[str, float] = {}
        if mv.run_id:
            metrics = dict(client.get_run(mv.run_id).data.metrics)
        rows.append(
            {
                "name": mv.name,
                "version": str(mv.version),
                "aliases": aliases.get(str(mv.version), []),
                "metrics": metrics,
                "tags": dict(mv.tags or {}),
                "run_id": mv.run_id,
            }
        )
    return rows
