"""Build and launch the RGD pipelines from a run-config file: the ZenML side of ``rgd run`` and ``rgd schedule``.

A run-config file comes in one of two shapes:

* a plain RGD config (``configs/default.yaml``): :class:`~rgd.config.run_config.RunConfig`'s fields at the top
  level, plus an optional ``zenml:`` mapping passed to ZenML as its run configuration (``enable_cache``,
  ``settings``, ``steps``, ``run_name``, ...);
* a ZenML run configuration (``configs/k8s/*.yaml``) that carries the RGD config under ``extra.rgd``; the rest
  of the file is ZenML's.

The RGD config never sees the ZenML part.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rgd.config.run_config import RunConfig, embedded_default, parse_run_config, read_yaml
from rgd.errors import DataError

#: ZenML run-configuration keys: a file with any of these at the top level is a ZenML run config
ZENML_TOP_KEYS = frozenset({"settings", "steps", "run_name", "enable_cache", "schedule", "extra", "parameters",
                            "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
                            "model", "retry", "build", "tags", "substitutions", "failure_hook_source",
                            "success_hook_source", "environment", "secrets", "cache_policy"})


def parse_run_file(data: Any, origin: str = "<config>") -> tuple[RunConfig, dict[str, Any]]:
    """Split a config mapping (either shape) into the validated RGD config and ZenML's run configuration."""
    if not isinstance(data, dict):
        raise DataError("a run config must be a YAML mapping", path=origin)
    if ZENML_TOP_KEYS & set(data) and "rgd" in (data.get("extra") or {}):
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


def load(config_path: Path | None, generator: str | None = None) -> tuple[RunConfig, dict[str, Any]]:
    """The run's config (the embedded default when no file is given), with ``--generator`` applied."""
    if config_path is None:
        config, zenml_cfg = embedded_default(), {}
    else:
        config, zenml_cfg = load_run_file(config_path)
    if generator:
        config = config.with_generator_preset(generator)
        config = config.model_copy(update={"name": f"{config.name}-{generator}"})
    return config, zenml_cfg


def build_pipeline(config: RunConfig, zenml_cfg: dict[str, Any], config_file: Path | None, schedule=None):
    """The pipeline for ``config`` with the ZenML run configuration applied."""
    from pipelines.recorded import rgd_recorded
    from pipelines.training import rgd_training

    pipe = rgd_recorded if config.pipeline == "recorded" else rgd_training
    options: dict[str, Any] = {}
    if schedule is not None:
        options["schedule"] = schedule
    if zenml_cfg:
        # the file as ZenML reads it (ZenML-shaped files as they are; plain files: their zenml: block)
        data = dict(zenml_cfg)
        if config_file is not None and "extra" not in data:
            raw = read_yaml(config_file)
            if isinstance(raw, dict) and "rgd" in (raw.get("extra") or {}):
                data = raw
                if "enable_cache" in zenml_cfg:  # rgd run --no-cache overrides the file's setting
                    data["enable_cache"] = zenml_cfg["enable_cache"]
        if schedule is not None:
            data.pop("schedule", None)
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}  # YAML anchor holders
        fd, tmp = tempfile.mkstemp(prefix="rgd-zenml-", suffix=".yaml")
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(data, fh)
        options["config_path"] = tmp
    return pipe.with_options(**options) if options else pipe
