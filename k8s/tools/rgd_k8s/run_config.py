"""A ZenML run configuration (YAML) for the Kubernetes orchestrator, read the way ZenML 0.98 reads it.

Pipeline-level settings reach every step and a step's own settings are merged over them with ZenML's
own recursive update (dicts merge key by key, lists are replaced), so a step that sets ``tolerations``
replaces the pipeline's list while ``resources.limits`` gains keys. The RGD-specific hints live under
``extra.rgd`` (pipeline or step): ``pool`` (model ids answered by ``respond_<slug>`` steps), ``gpu``
(force a step onto / off GPU nodes) and ``tensor_parallel_size``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rgd.config import step_names as naming
from rgd.config.run_file import as_zenml_shaped
from rgd.data.yaml_file import read_yaml
from rgd.errors import DataError, RGDError

K8S_SETTINGS_KEYS = ("orchestrator.kubernetes", "orchestrator")
GPU_RESOURCE = "nvidia.com/gpu"


class RunConfigError(RGDError, ValueError):
    """A run configuration file that cannot be read at all."""


def _recursive_update(original: dict, update: dict) -> dict:
    from zenml.utils.dict_utils import recursive_update

    return recursive_update(copy.deepcopy(original), copy.deepcopy(update), ignore_none=True)


@dataclass
class K8sRunConfig:
    path: Path
    data: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> "K8sRunConfig":
        path = Path(path)
        try:
            data = read_yaml(path)  # a duplicate key is refused, as in every YAML the project reads
        except DataError as err:
            raise RunConfigError(str(err)) from err
        if not isinstance(data, dict):
            raise RunConfigError(f"{path}: a run configuration must be a YAML mapping, got {type(data).__name__}")
        return cls(path=path, data=as_zenml_shaped(data))

    # ---- raw sections -------------------------------------------------------------------------
    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        return {name: (cfg or {}) for name, cfg in (self.data.get("steps") or {}).items()}

    def step_names(self) -> list[str]:
        return list(self.steps)

    def _settings_section(self, step: str | None) -> dict[str, Any]:
        source = self.data if step is None else self.steps.get(step, {})
        return source.get("settings") or {}

    def _raw_k8s(self, step: str | None) -> dict[str, Any]:
        settings = self._settings_section(step)
        for key in K8S_SETTINGS_KEYS:
            if key in settings:
                return settings[key] or {}
        return {}

    # ---- effective (merged) values ------------------------------------------------------------
    def k8s_settings(self, step: str | None = None):
        """Effective ``KubernetesOrchestratorSettings`` for a step (or the pipeline when ``step`` is None)."""
        from zenml.integrations.kubernetes.flavors.kubernetes_orchestrator_flavor import (
            KubernetesOrchestratorSettings,
        )

        pipeline = KubernetesOrchestratorSettings.model_validate(self._raw_k8s(None))
        merged = pipeline.model_dump(exclude_unset=True)
        if step is not None:
            own = KubernetesOrchestratorSettings.model_validate(self._raw_k8s(step))
            merged = _recursive_update(merged, own.model_dump(exclude_unset=True))
        return KubernetesOrchestratorSettings.model_validate(merged)

    def retry(self, step: str):
        """Effective ``StepRetryConfig`` (step overrides pipeline), or None."""
        from zenml.config.retry_config import StepRetryConfig

        raw = self.steps.get(step, {}).get("retry") or self.data.get("retry")
        return StepRetryConfig.model_validate(raw) if raw else None

    def extra(self, step: str | None = None) -> dict[str, Any]:
        merged = copy.deepcopy(self.data.get("extra") or {})
        if step is not None:
            merged = _recursive_update(merged, self.steps.get(step, {}).get("extra") or {})
        return merged

    def rgd_extra(self, step: str | None = None) -> dict[str, Any]:
        return self.extra(step).get("rgd") or {}

    def image(self, step: str | None = None) -> str:
        """The step image: ``settings.docker.parent_image`` (ZenML builds its image on top of it)."""
        docker = _recursive_update(
            self._settings_section(None).get("docker") or {},
            (self._settings_section(step).get("docker") or {}) if step else {},
        )
        return docker.get("parent_image") or "rgd/step:latest"

    @property
    def pool(self) -> list[str]:
        """The real pool's model ids (short form ``pool: [ids]`` or ``pool: {kind, models}``); a simulated
        pool has no respond pods of its own to check."""
        raw = self.rgd_extra().get("pool") or []
        if isinstance(raw, dict):
            if raw.get("kind", "simulated") == "simulated":
                return []
            raw = raw.get("models") or []
        return [str(m.get("name")) if isinstance(m, dict) else str(m) for m in raw]

    @property
    def cron_expression(self) -> str | None:
        return (self.data.get("schedule") or {}).get("cron_expression")

    def wants_gpu(self, step: str) -> bool:
        """Whether a step must run on a GPU node: ``extra.rgd.gpu`` when given, else by step name
        (``generate_questions`` and every ``respond_*`` run vLLM; the rest run on CPU nodes)."""
        declared = (self.steps.get(step, {}).get("extra") or {}).get("rgd", {}).get("gpu")
        if declared is not None:
            return bool(declared)
        return step == naming.GENERATE_STEP or step.startswith(naming.RESPOND_PREFIX)

    def gpu_limit(self, step: str) -> int:
        """``nvidia.com/gpu`` limit of the step's pod (0 when absent)."""
        settings = self.k8s_settings(step)
        limits = (settings.pod_settings.resources.get("limits") or {}) if settings.pod_settings else {}
        value = limits.get(GPU_RESOURCE)
        return int(value) if value is not None else 0
