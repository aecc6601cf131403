"""A run file's two shapes, parsed in one place (``rgd run``, ``rgd schedule`` and the Kubernetes tools).

* a plain RGD config (``configs/default.yaml``): :class:`~rgd.config.run_config.RunConfig`'s fields at the top
  level, plus an optional ``zenml:`` mapping passed to ZenML as its run configuration (``enable_cache``,
  ``settings``, ``steps``, ``run_name``, ...);
* a ZenML run configuration (``configs/k8s/*.yaml``) that carries the RGD config under ``extra.rgd``; the rest
  of the file is ZenML's.

The RGD config never sees the ZenML part. Nothing here imports ZenML: these are the keys of its files only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rgd.config.run_config import RunConfig, parse_run_config
from rgd.data.yaml_file import read_yaml
from rgd.errors import DataError

__all__ = ["ZENML_TOP_KEYS", "as_zenml_shaped", "load_run_file", "parse_run_file", "zenml_shaped"]

#: ZenML run-configuration keys: a file with any of these at the top level is a ZenML run config
ZENML_TOP_KEYS = frozenset({"settings", "steps", "run_name", "enable_cache", "schedule", "extra", "parameters",
                            "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
                            "model", "retry", "build", "tags", "substitutions", "failure_hook_source",
                            "success_hook_source", "environment", "secrets", "cache_policy"})


def zenml_shaped(data: Any) -> bool:
    """Whether a run file's mapping is a ZenML run configuration carrying the RGD config under ``extra.rgd``."""
    return isinstance(data, dict) and bool(ZENML_TOP_KEYS & set(data)) and "rgd" in (data.get("extra") or {})


def parse_run_file(data: Any, origin: str = "<config>") -> tuple[RunConfig, dict[str, Any]]:
    """Split a config mapping (either shape) into the validated RGD config and ZenML's run configuration."""
    if not isinstance(data, dict):
        raise DataError("a run config must be a YAML mapping", path=origin)
    if zenml_shaped(data):
        zenml_cfg = {k: v for k, v in data.items() if k != "extra"}
        extra = dict(data.get("extra") or {})
        rgd_data = extra.pop("rgd")
        if extra:
            zenml_cfg["extra"] = extra
        return parse_run_config(rgd_data, origin, prefix="extra.rgd."), zenml_cfg
    rgd_data = dict(data)
    zenml_cfg = dict(rgd_data.pop("zenml", None) or {})
    return parse_run_config(rgd_data, origin), zenml_cfg


def load_run_file(path: str | Path) -> tuple[RunConfig, dict[str, Any]]:
    """Read a YAML run-config file (either shape): the RGD config and ZenML's run configuration."""
    return parse_run_file(read_yaml(path), str(path))


def as_zenml_shaped(data: dict[str, Any]) -> dict[str, Any]:
    """A run file's mapping in the shape of a ZenML run configuration that carries the RGD config under
    ``extra.rgd``: a plain config's ``zenml:`` block at the top and its RGD fields under ``extra.rgd``;
    ZenML-shaped files as they are."""
    if zenml_shaped(data):
        return data
    zenml = dict(data.get("zenml") or {})
    rgd = {k: v for k, v in data.items() if k != "zenml"}
    return {**zenml, "extra": {**(zenml.get("extra") or {}), "rgd": rgd}}
