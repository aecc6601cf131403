"""The Job/pod ZenML would create for each step of each k8s config, built with ZenML's own manifest
utilities: GPU steps on GPU nodes with nvidia.com/gpu limits, CPU steps on CPU nodes without them, and a
schedule rendered as a CronJob with the given cron line."""

from __future__ import annotations

import kubernetes_validate
import pytest

from rgd_k8s.manifests import schedule_cron_job_manifest, step_job_manifest
from rgd_k8s.run_config import K8sRunConfig
from steps import names as naming

from .conftest import K8S_CONFIGS, MMLU_PRO_VLLM

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
CONFIG_STEPS = [(path, step) for path in K8S_CONFIGS for step in K8sRunConfig.load(path).step_names()]


def _container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def test_there_is_a_k8s_config_for_mmlu_pro_with_a_vllm_pool():
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    assert len(config.pool) >= 2
    assert set(naming.FIXED_STEPS) <= set(config.step_names())
    assert {naming.respond_step_name(m) for m in config.pool} <= set(config.step_names())


@pytest.mark.parametrize("path,step", CONFIG_STEPS, ids=[f"{p.stem}:{s}" for p, s in CONFIG_STEPS])
def test_step_job_is_valid_and_placed_by_its_gpu_needs(path, step):
    config = K8sRunConfig.load(path)
    job = step_job_manifest(config, step)
    kubernetes_validate.validate(job, "1.32", strict=True)
    spec = job["spec"]["template"]["spec"]
    container = _container(job)
    limits = container["resources"].get("limits", {})
    requests = container["resources"].get("requests", {})
    assert container["args"][container["args"].index("--step_name") + 1] == step
    assert spec["serviceAccountName"] == "rgd-step"
    assert spec["securityContext"]["runAsNonRoot"] is True
    if config.wants_gpu(step):
        assert int(limits["nvidia.com/gpu"]) >= 1
        assert spec["nodeSelector"] == {"rgd.dev/pool": "gpu"}
        assert GPU_TOLERATION in spec["tolerations"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
        assert volumes[mounts["/models"]]["persistentVolumeClaim"]["claimName"] == "rgd-model-cache"
        env = {e["name"]: e for e in container["env"]}
        assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "rgd-hf-token"
        assert container["image"] == "rgd/step-gpu:latest"
        # ZenML turns the step retry config into the Job's backoff limit
        assert job["spec"]["backoffLimit"] >= config.retry(step).max_retries >= 1
    else:
        assert "nvidia.com/gpu" not in limits and "nvidia.com/gpu" not in requests
        assert spec["nodeSelector"] == {"rgd.dev/pool": "cpu"}
        assert "tolerations" not in spec or GPU_TOLERATION not in spec["tolerations"]
        assert container["image"] == "rgd/step:latest"
    assert requests.get("memory") and limits.get("memory")


def test_gpu_counts_follow_model_size_and_tensor_parallelism():
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    gpus = {step: config.gpu_limit(step) for step in config.step_names()}
    assert gpus["respond_llama_3_3_70b_instruct"] == 4
    assert config.rgd_extra("respond_llama_3_3_70b_instruct")["tensor_parallel_size"] == 4
    assert gpus["respond_qwen2_5_7b_instruct"] == 1
    assert gpus["generate_questions"] == 1
    gpu_steps = {s for s, n in gpus.items() if n}
    assert gpu_steps == {"generate_questions"} | {naming.respond_step_name(m) for m in config.pool}


def test_retry_becomes_job_backoff_limit():
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    margin = config.k8s_settings("respond_llama_3_3_70b_instruct").backoff_limit_margin
    job = step_job_manifest(config, "respond_llama_3_3_70b_instruct")
    assert job["spec"]["backoffLimit"] == config.retry("respond_llama_3_3_70b_instruct").max_retries + margin
    assert step_job_manifest(config, "train_router")["spec"]["backoffLimit"] == margin


def test_step_settings_merge_over_pipeline_settings_like_zenml():
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    # embed_questions only overrides resources: it keeps the pipeline's node selector and env_from
    spec = step_job_manifest(config, "embed_questions")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"rgd.dev/pool": "cpu"}
    assert spec["containers"][0]["envFrom"] == [{"configMapRef": {"name": "rgd-config"}}]
    assert spec["containers"][0]["resources"]["limits"]["cpu"] == "4"


@pytest.mark.parametrize("cron", ["0 3 * * 1", "*/30 * * * *"])
def test_schedule_renders_to_a_cronjob_with_the_cron_line(cron):
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    cron_job = schedule_cron_job_manifest(config, cron)
    kubernetes_validate.validate(cron_job, "1.32", strict=True)
    assert cron_job["kind"] == "CronJob" and cron_job["apiVersion"] == "batch/v1"
    assert cron_job["spec"]["schedule"] == cron
    assert cron_job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "rgd-orchestrator"
    assert pod["nodeSelector"] == {"rgd.dev/pool": "cpu"}
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"].get("limits", {})
    assert "kubernetes_orchestrator_entrypoint" in " ".join(pod["containers"][0]["command"])


def test_schedule_without_cron_line_is_refused():
    config = K8sRunConfig.load(MMLU_PRO_VLLM)
    assert config.cron_expression is None
    with pytest.raises(ValueError, match="no cron expression"):
        schedule_cron_job_manifest(config)


def test_embed_step_gets_a_gpu_only_with_a_gpu_embedder():
    cpu_embedder = K8sRunConfig.load(MMLU_PRO_VLLM)
    gpu_embedder = K8sRunConfig.load(MMLU_PRO_VLLM.with_name("mmlu_pro_vllm_gpu_embedder.yaml"))
    assert cpu_embedder.gpu_limit("embed_questions") == 0
    assert gpu_embedder.gpu_limit("embed_questions") == 1
    spec = step_job_manifest(gpu_embedder, "embed_questions")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"rgd.dev/pool": "gpu"} and GPU_TOLERATION in spec["tolerations"]
