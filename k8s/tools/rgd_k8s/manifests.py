"""The Kubernetes objects ZenML 0.98 would create for a run configuration, built with ZenML's own code.

For each step: the Job (and its pod template) that the orchestrator pod submits, composed exactly as in
``kubernetes_orchestrator_entrypoint.start_step_job``: default memory request, ``build_pod_manifest``,
``build_job_manifest`` with ``backoff_limit = retry.max_retries + backoff_limit_margin``. For a schedule:
the CronJob that ``KubernetesOrchestrator`` creates around the orchestrator Job, via
``build_cron_job_manifest``. No cluster and no ZenML server are needed; run-specific values (snapshot id,
run labels) are fixed placeholders.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from rgd_k8s.run_config import K8sRunConfig

PLACEHOLDER_SNAPSHOT_ID = uuid.UUID("00000000-0000-4000-8000-000000000000")
DEFAULT_PIPELINE_NAME = "rgd_training"


def _to_dict(obj: Any) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(obj)


def _pod_settings_copy(settings):
    # ZenML's helpers mutate the pod settings' dicts in place; never touch the parsed config
    return copy.deepcopy(settings.pod_settings) if settings.pod_settings else None


def step_job_manifest(
    config: K8sRunConfig, step: str, pipeline_name: str = DEFAULT_PIPELINE_NAME
) -> dict[str, Any]:
    """The ``batch/v1`` Job the orchestrator pod creates for one step invocation."""
    from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration
    from zenml.integrations.kubernetes import kube_utils
    from zenml.integrations.kubernetes.manifest_utils import (
        build_job_manifest,
        build_pod_manifest,
        pod_template_manifest_from_pod,
    )

    settings = config.k8s_settings(step)
    pod_settings = kube_utils.apply_default_resource_requests(
        memory="400Mi", pod_settings=_pod_settings_copy(settings)
    )
    labels = {
        "pipeline": kube_utils.sanitize_label_value(pipeline_name),
        "step_name": kube_utils.sanitize_label_value(step),
    }
    pod = build_pod_manifest(
        pod_name=None,
        image_name=config.image(step),
        command=StepEntrypointConfiguration.get_entrypoint_command(),
        args=StepEntrypointConfiguration.get_entrypoint_arguments(
            step_name=step, snapshot_id=PLACEHOLDER_SNAPSHOT_ID
        ),
        env={},
        privileged=settings.privileged,
        pod_settings=pod_settings,
        service_account_name=settings.step_pod_service_account_name or settings.service_account_name,
        mount_local_stores=False,
        termination_grace_period_seconds=settings.pod_stop_grace_period,
        labels=dict(labels),
    )
    retry = config.retry(step)
    backoff_limit = (retry.max_retries if retry else 0) + settings.backoff_limit_margin
    job_name = kube_utils.sanitize_label(f"-00000000-{step}-{pipeline_name}")
    job = build_job_manifest(
        job_name=job_name,
        pod_template=pod_template_manifest_from_pod(pod),
        backoff_limit=backoff_limit,
        ttl_seconds_after_finished=settings.ttl_seconds_after_finished,
        active_deadline_seconds=settings.active_deadline_seconds,
        pod_failure_policy=settings.pod_failure_policy,
        labels=labels,
    )
    manifest = _to_dict(job)
    manifest.setdefault("apiVersion", "batch/v1")
    manifest.setdefault("kind", "Job")
    return manifest


def step_pod_spec(config: K8sRunConfig, step: str) -> dict[str, Any]:
    """The pod spec inside the step's Job."""
    return step_job_manifest(config, step)["spec"]["template"]["spec"]


def step_pod_manifest(config: K8sRunConfig, step: str) -> dict[str, Any]:
    """The step pod as a ``v1`` Pod (what the Job's controller will create)."""
    template = step_job_manifest(config, step)["spec"]["template"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": template.get("metadata") or {}, "spec": template["spec"]}


def all_step_job_manifests(config: K8sRunConfig) -> dict[str, dict[str, Any]]:
    return {step: step_job_manifest(config, step) for step in config.step_names()}


def schedule_cron_job_manifest(
    config: K8sRunConfig, cron_expression: str | None = None, pipeline_name: str = DEFAULT_PIPELINE_NAME
) -> dict[str, Any]:
    """The ``batch/v1`` CronJob created for a scheduled run (``rgd schedule --cron ...``).

    ``cron_expression`` defaults to the config's own ``schedule.cron_expression``.
    """
    from zenml.integrations.kubernetes import kube_utils
    from zenml.integrations.kubernetes.manifest_utils import (
        build_cron_job_manifest,
        build_job_manifest,
        build_pod_manifest,
        job_template_manifest_from_job,
        pod_template_manifest_from_pod,
    )
    from zenml.integrations.kubernetes.orchestrators.kubernetes_orchestrator_entrypoint_configuration import (
        KubernetesOrchestratorEntrypointConfiguration,
    )
    from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings

    cron = cron_expression or config.cron_expression
    if not cron:
        raise ValueError(f"{config.path}: no cron expression given and no schedule.cron_expression in the file")
    settings = config.k8s_settings(None)
    orchestrator_pod_settings = copy.deepcopy(settings.orchestrator_pod_settings) or KubernetesPodSettings()
    pod_settings = kube_utils.apply_default_resource_requests(
        memory="400Mi", cpu="100m", pod_settings=orchestrator_pod_settings
    )
    labels = {"pipeline": kube_utils.sanitize_label_value(pipeline_name)}
    pod = build_pod_manifest(
        pod_name=None,
        image_name=config.image(None),
        command=KubernetesOrchestratorEntrypointConfiguration.get_entrypoint_command(),
        args=KubernetesOrchestratorEntrypointConfiguration.get_entrypoint_arguments(
            snapshot_id=PLACEHOLDER_SNAPSHOT_ID
        ),
        privileged=False,
        pod_settings=pod_settings,
        # without service_account_name ZenML would create "zenml-service-account" bound to ClusterRole edit
        service_account_name=settings.service_account_name or "zenml-service-account",
        env={},
        labels=dict(labels),
        mount_local_stores=False,
        termination_grace_period_seconds=settings.pod_stop_grace_period,
    )
    job = build_job_manifest(
        job_name=kube_utils.sanitize_label(f"-00000000-{pipeline_name}"),
        pod_template=pod_template_manifest_from_pod(pod),
        backoff_limit=settings.orchestrator_job_backoff_limit,
        ttl_seconds_after_finished=settings.ttl_seconds_after_finished,
        active_deadline_seconds=settings.active_deadline_seconds,
        pod_failure_policy=settings.pod_failure_policy,
        labels=labels,
    )
    cron_job = build_cron_job_manifest(
        cron_expression=cron,
        job_template=job_template_manifest_from_job(job),
        successful_jobs_history_limit=settings.successful_jobs_history_limit,
        failed_jobs_history_limit=settings.failed_jobs_history_limit,
        concurrency_policy=settings.concurrency_policy,
        starting_deadline_seconds=settings.starting_deadline_seconds,
    )
    return _to_dict(cron_job)
