"""Offline checks of a ZenML run configuration for the Kubernetes orchestrator.

A file fails with a clear message when it has:
- a field ZenML would silently ignore (typo, wrong level), checked against ZenML's own settings models;
- pod settings that do not make a valid Kubernetes object: the step Jobs (and the orchestrator CronJob)
  are built with ZenML's manifest utilities and validated strictly against the Kubernetes 1.32 schema;
- a GPU step without an ``nvidia.com/gpu`` limit (or without toleration, node selector, memory-backed
  /dev/shm, retries), a GPU on a CPU step, tensor parallelism that does not match the GPU count,
  requests above limits, a pool model without its own respond step;
- a secret in plain text: a secret-looking env var with a literal ``value`` instead of
  ``valueFrom.secretKeyRef``, a string that looks like a token or key, or a URL with credentials in it
  (detected by :mod:`rgd.secrets`, the same detector the run config uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rgd.config import step_names as naming
from rgd.secrets import is_reference, is_secret_key, secret_value_kind
from rgd_k8s.quantity import parse_quantity
from rgd_k8s.run_config import GPU_RESOURCE, K8S_SETTINGS_KEYS, K8sRunConfig, RunConfigError
from rgd_k8s.strict import suggestion, unknown_fields

KUBERNETES_VERSION = "1.32"
STACK_COMPONENT_TYPES = (
    "orchestrator", "artifact_store", "container_registry", "step_operator", "experiment_tracker",
    "model_deployer", "image_builder", "alerter", "annotator", "data_validator", "feature_store",
    "model_registry", "deployer", "log_store", "sandbox",
)


@dataclass(frozen=True)
class Problem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


def _where(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        part = str(part)
        if part.isdigit():
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][\w-]*", part):
            out += ("." if out else "") + part
        else:
            out += f'["{part}"]'
    return out


class _Checker:
    def __init__(self, config: K8sRunConfig) -> None:
        self.config = config
        self.problems: list[Problem] = []
        self.broken_settings = False

    def add(self, where: Iterable[Any], message: str) -> None:
        self.problems.append(Problem(str(self.config.path), _where(where), message))

    # ---- structure --------------------------------------------------------------------------------
    def check_structure(self) -> None:
        from zenml.config.pipeline_run_configuration import PipelineRunConfiguration
        from zenml.config.step_configurations import StepConfigurationUpdate

        data = self.config.data
        top = {k: v for k, v in data.items() if not str(k).startswith("x-")}  # x-*: YAML anchors only
        for path, message in unknown_fields(
            PipelineRunConfiguration, top, skip=frozenset({"settings", "steps", "schedule", "retry"})
        ):
            self.add(path, message + "; ZenML would silently ignore it")
        if data.get("schedule") is not None:
            self.check_schedule(data["schedule"])
        if data.get("retry") is not None:
            self.check_retry(("retry",), data["retry"])
        self.check_settings(("settings",), data.get("settings"))
        steps = data.get("steps") or {}
        if not isinstance(steps, dict):
            self.add(("steps",), "must be a mapping from step invocation id to its configuration")
            return
        for name, step in steps.items():
            where = ("steps", name)
            if not naming.is_known_step(name):
                known = list(naming.FIXED_STEPS) + ["respond_<model_slug>"]
                self.add(where, f"unknown step {name!r}{suggestion(name, known)}; the RGD pipeline's steps "
                         f"are {', '.join(known)}; ZenML would silently ignore this block")
            if step is None:
                continue
            if not isinstance(step, dict):
                self.add(where, "a step configuration must be a mapping")
                continue
            for path, message in unknown_fields(
                StepConfigurationUpdate, step, where, skip=frozenset({"settings", "retry"})
            ):
                self.add(path, message + "; ZenML would silently ignore it")
            if step.get("retry") is not None:
                self.check_retry(where + ("retry",), step["retry"])
            self.check_settings(where + ("settings",), step.get("settings"))

    def _validate(self, model, where: tuple, value: Any) -> bool:
        from pydantic import ValidationError

        for path, message in unknown_fields(model, value, where):
            self.add(path, message)
            self.broken_settings = True
        try:
            model.model_validate(value)
        except ValidationError as err:
            for error in err.errors():
                self.add(where + tuple(error["loc"]), f"{error['msg']} (got {error.get('input')!r})")
            self.broken_settings = True
            return False
        return True

    def check_retry(self, where: tuple, value: Any) -> None:
        from zenml.config.retry_config import StepRetryConfig

        self._validate(StepRetryConfig, where, value)

    def check_schedule(self, value: Any) -> None:
        from zenml.config.schedule import Schedule

        if self._validate(Schedule, ("schedule",), value):
            cron = (value or {}).get("cron_expression")
            if cron is None:
                self.add(("schedule",), "the Kubernetes orchestrator only runs cron schedules: set cron_expression")
            elif len(str(cron).split()) != 5:
                self.add(("schedule", "cron_expression"),
                         f"{cron!r} is not a 5-field cron line (minute hour day-of-month month day-of-week)")

    def check_settings(self, where: tuple, settings: Any) -> None:
        from zenml.config import DockerSettings, ResourceSettings
        from zenml.integrations.kubernetes.flavors.kubernetes_orchestrator_flavor import (
            KubernetesOrchestratorSettings,
        )

        if settings is None:
            return
        if not isinstance(settings, dict):
            self.add(where, "settings must be a mapping")
            return
        k8s_keys = [key for key in settings if key in K8S_SETTINGS_KEYS]
        if len(k8s_keys) > 1:
            self.add(where, f"both {k8s_keys[0]!r} and {k8s_keys[1]!r} given; ZenML uses only one of them")
        for key, value in settings.items():
            here = where + (key,)
            if key == "docker":
                self._validate(DockerSettings, here, value)
            elif key == "resources":
                self._validate(ResourceSettings, here, value)
                if isinstance(value, dict) and value.get("gpu_count"):
                    self.add(here + ("gpu_count",),
                             "ZenML 0.98's Kubernetes orchestrator ignores ResourceSettings.gpu_count: request GPUs "
                             f"in settings.orchestrator.kubernetes.pod_settings.resources.limits[{GPU_RESOURCE!r}]")
            elif key in K8S_SETTINGS_KEYS:
                self._validate(KubernetesOrchestratorSettings, here, value or {})
                for field in ("pod_settings", "orchestrator_pod_settings"):
                    if isinstance(value, dict) and value.get(field) and "container_security_context" in value[field]:
                        self.add(here + (field, "container_security_context"),
                                 "ZenML 0.98 merges container_security_context into snake_case keys that a "
                                 "strict API server rejects; set the pod-level securityContext through "
                                 "additional_pod_spec_args.security_context instead")
                        self.broken_settings = True
                for deprecated in ("timeout", "stream_step_logs", "pod_startup_timeout", "pod_failure_max_retries",
                                   "pod_failure_retry_delay", "pod_failure_backoff", "pod_name_prefix"):
                    if isinstance(value, dict) and deprecated in value:
                        self.add(here + (deprecated,), "deprecated and unused in ZenML 0.98")
            elif str(key).split(".")[0].split(":")[0] == "orchestrator":
                self.add(here, f"settings key {key!r} does not select the Kubernetes orchestrator "
                         f"(ZenML would ignore it here); use 'orchestrator.kubernetes'")
            elif str(key).split(".")[0].split(":")[0] in STACK_COMPONENT_TYPES:
                continue  # settings of another stack component (e.g. experiment_tracker.mlflow)
            else:
                options = ["docker", "resources", "orchestrator.kubernetes"]
                self.add(here, f"unknown settings key {key!r}{suggestion(key, options)}; ZenML would ignore it")

    # ---- rendered manifests -----------------------------------------------------------------------
    def check_rendered(self) -> None:
        import kubernetes_validate

        from rgd_k8s.manifests import schedule_cron_job_manifest, step_job_manifest

        rendered = [(("steps", step), lambda s=step: step_job_manifest(self.config, s)) for step in self.config.step_names()]
        rendered.append((("settings", "orchestrator.kubernetes", "orchestrator_pod_settings"),
                         lambda: schedule_cron_job_manifest(self.config, self.config.cron_expression or "0 0 * * *")))
        for where, build in rendered:
            try:
                manifest = build()
            except Exception as err:  # a value ZenML cannot turn into a manifest
                self.add(where, f"ZenML cannot build the Kubernetes manifest: {err}")
                continue
            try:
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as err:
                location = ".".join(str(p) for p in err.path)
                hint = ""
                if "unexpected" in err.message or "required property" in err.message:
                    hint = (" (Kubernetes field names are camelCase, e.g. mountPath, claimName, secretKeyRef, "
                            "sizeLimit; check the pod settings for a typo)")
                self.add(where, f"the {manifest.get('kind')} ZenML builds is not valid Kubernetes "
                         f"{KUBERNETES_VERSION} (strict) at {location}: {err.message}{hint}")

    # ---- GPU placement ----------------------------------------------------------------------------
    def check_gpu_rules(self) -> None:
        pool_steps = {naming.respond_step_name(model): model for model in self.config.pool}
        steps = self.config.steps
        if not steps:  # no per-step pod settings at all: a laptop config, which runs no pods
            pool_steps = {}
        for step_name, model in pool_steps.items():
            if step_name not in steps:
                self.add(("steps",), f"pool model {model!r} has no step {step_name!r}: its respond pod would get "
                         "the CPU defaults and no GPU")
        for step in self.config.step_names():
            where = ("steps", step, "settings", "orchestrator.kubernetes", "pod_settings")
            settings = self.config.k8s_settings(step)
            pod = settings.pod_settings
            resources = (pod.resources if pod else {}) or {}
            limits = resources.get("limits") or {}
            requests = resources.get("requests") or {}
            self._check_requests_within_limits(where + ("resources",), requests, limits)
            declared_model = self.config.rgd_extra(step).get("model") if step.startswith(naming.RESPOND_PREFIX) else None
            if declared_model and naming.respond_step_name(declared_model) != step:
                self.add(("steps", step, "extra", "rgd", "model"),
                         f"model {declared_model!r} belongs to step {naming.respond_step_name(declared_model)!r}, "
                         f"not {step!r}")
            if self.config.wants_gpu(step):
                self._check_gpu_step(step, where, pod, limits, requests)
            elif GPU_RESOURCE in limits or GPU_RESOURCE in requests:
                self.add(where + ("resources",),
                         f"CPU step {step!r} asks for {GPU_RESOURCE}: GPUs are for generate_questions, respond_* "
                         "and steps marked extra.rgd.gpu: true (a pipeline-level GPU limit reaches every step)")

    def _check_gpu_step(self, step: str, where: tuple, pod, limits: dict, requests: dict) -> None:
        if GPU_RESOURCE not in limits:
            self.add(where + ("resources", "limits"),
                     f"GPU step {step!r} has no {GPU_RESOURCE!r} limit, so Kubernetes would start it without a "
                     f"GPU; add resources.limits[{GPU_RESOURCE!r}] (ZenML 0.98 ignores ResourceSettings.gpu_count "
                     "on this orchestrator)")
            return
        try:
            gpus = parse_quantity(limits[GPU_RESOURCE])
        except ValueError as err:
            self.add(where + ("resources", "limits", GPU_RESOURCE), str(err))
            return
        if gpus < 1 or gpus != int(gpus):
            self.add(where + ("resources", "limits", GPU_RESOURCE), f"must be a whole number >= 1, got {gpus}")
        if GPU_RESOURCE in requests and str(requests[GPU_RESOURCE]) != str(limits[GPU_RESOURCE]):
            self.add(where + ("resources", "requests", GPU_RESOURCE),
                     "an extended resource's request must equal its limit")
        tolerations = pod.tolerations if pod else []
        if not any(t.get("key") == GPU_RESOURCE or (t.get("operator") == "Exists" and not t.get("key"))
                   for t in tolerations):
            self.add(where + ("tolerations",),
                     f"GPU step {step!r} does not tolerate the {GPU_RESOURCE!r} taint of GPU nodes")
        if not (pod and (pod.node_selectors or pod.affinity)):
            self.add(where + ("node_selectors",), f"GPU step {step!r} has no node selector or affinity")
        volumes = {v.get("name"): v for v in (pod.volumes if pod else [])}
        shm = [m for m in (pod.volume_mounts if pod else []) if m.get("mountPath") == "/dev/shm"]
        if not shm or ((volumes.get(shm[0].get("name")) or {}).get("emptyDir") or {}).get("medium") != "Memory":
            self.add(where + ("volume_mounts",),
                     f"GPU step {step!r} needs /dev/shm mounted from an emptyDir with medium: Memory (vLLM/NCCL)")
        tensor_parallel = self.config.rgd_extra(step).get("tensor_parallel_size")
        if tensor_parallel is not None and int(tensor_parallel) != int(gpus):
            self.add(("steps", step, "extra", "rgd", "tensor_parallel_size"),
                     f"tensor_parallel_size {tensor_parallel} does not match the {int(gpus)} GPU(s) of the pod")
        retry = self.config.retry(step)
        if retry is None or retry.max_retries < 1:
            self.add(("steps", step, "retry"),
                     f"GPU step {step!r} has no retries: set retry.max_retries >= 1 (preemptions, OOM, NCCL timeouts)")

    def _check_requests_within_limits(self, where: tuple, requests: dict, limits: dict) -> None:
        for resource in set(requests) & set(limits):
            try:
                if parse_quantity(requests[resource]) > parse_quantity(limits[resource]):
                    self.add(where, f"request {resource}={requests[resource]} is above its limit "
                             f"{limits[resource]} (after merging the pipeline-level pod settings)")
            except ValueError as err:
                self.add(where + ("requests", resource), str(err))

    # ---- secrets ----------------------------------------------------------------------------------
    def check_secrets(self) -> None:
        self._walk_secrets(self.config.data, ())

    def _walk_secrets(self, value: Any, where: tuple) -> None:
        if isinstance(value, dict):
            if where and where[-1] == "environment":
                for name, literal in value.items():
                    if is_secret_key(str(name)) and not is_reference(str(literal)):
                        self.add(where + (name,),
                                 f"{name!r} looks like a secret but is given in plain text; reference a Kubernetes "
                                 "Secret (pod_settings.env with valueFrom.secretKeyRef) or a ZenML secret instead")
            if "name" in value and "value" in value and len(where) >= 2 and where[-2] == "env":
                if is_secret_key(str(value["name"])) and not is_reference(str(value["value"])):
                    self.add(where + ("value",),
                             f"env var {value['name']!r} looks like a secret but has a literal value; use "
                             "valueFrom.secretKeyRef with the name of a Kubernetes Secret")
            for key, item in value.items():
                self._walk_secrets(item, where + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._walk_secrets(item, where + (index,))
        elif isinstance(value, str):
            what = secret_value_kind(value)  # the library's one detector (also used by the run config)
            if what:
                self.add(where, f"this value looks like {what}; never put secrets in a config file: reference a "
                         "Kubernetes Secret by name (valueFrom.secretKeyRef), and keep credentials out of URLs")


def check_config(config: K8sRunConfig) -> list[Problem]:
    checker = _Checker(config)
    checker.check_structure()
    checker.check_secrets()
    if not checker.broken_settings:  # rendering needs settings ZenML can parse
        checker.check_rendered()
        checker.check_gpu_rules()
    return checker.problems


def check_file(path: str | Path) -> list[Problem]:
    """All problems of one run-configuration file (empty when it is fine)."""
    try:
        config = K8sRunConfig.load(path)
    except RunConfigError as err:
        return [Problem(str(path), "", str(err).split(": ", 1)[-1])]
    return check_config(config)
