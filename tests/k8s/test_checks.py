"""rgd_k8s.check: good configs pass; each kind of misconfiguration fails with a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rgd_k8s.checks import check_file

from .conftest import K8S_CONFIGS, REPO_ROOT

BIG = "respond_llama_3_3_70b_instruct"


def _k8s(data, step=None):
    section = data if step is None else data["steps"][step]
    return section["settings"]["orchestrator.kubernetes"]


def _messages(path):
    return [str(p) for p in check_file(path)]


@pytest.mark.parametrize("path", K8S_CONFIGS, ids=[p.name for p in K8S_CONFIGS])
def test_shipped_configs_pass(path):
    assert _messages(path) == []


def test_cli_passes_good_configs_and_fails_a_bad_one(mutated_config):
    bad = mutated_config(lambda d: _k8s(d, BIG)["pod_settings"]["resources"]["limits"].pop("nvidia.com/gpu"))
    good = subprocess.run([sys.executable, "-m", "rgd_k8s.check", "configs/k8s"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK" in good.stdout
    failed = subprocess.run([sys.executable, "-m", "rgd_k8s.check", str(bad)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert f"GPU step '{BIG}' has no 'nvidia.com/gpu' limit" in failed.stdout


def test_misspelled_settings_field_is_named_with_a_suggestion(mutated_config):
    def typo(data):
        pod = _k8s(data, BIG)["pod_settings"]
        pod["node_selector"] = pod.pop("node_selectors")

    messages = _messages(mutated_config(typo))
    assert any(f'steps.{BIG}.settings["orchestrator.kubernetes"].pod_settings.node_selector' in m
               and "did you mean 'node_selectors'" in m for m in messages), messages


def test_misspelled_orchestrator_field_is_caught(mutated_config):
    def typo(data):
        settings = _k8s(data)
        settings["step_pod_service_acount_name"] = settings.pop("step_pod_service_account_name")

    messages = _messages(mutated_config(typo))
    assert any("unknown field 'step_pod_service_acount_name'" in m and "step_pod_service_account_name" in m
               for m in messages), messages


def test_misspelled_kubernetes_field_inside_pod_settings_fails_the_schema(mutated_config):
    def typo(data):
        mount = _k8s(data, BIG)["pod_settings"]["volume_mounts"][0]
        mount["mount_path"] = mount.pop("mountPath")

    messages = _messages(mutated_config(typo))
    assert any(f"steps.{BIG}" in m and "not valid Kubernetes 1.32" in m and "volumeMounts.0" in m
               and "'mountPath' is a required property" in m and "camelCase" in m for m in messages), messages


def test_misspelled_settings_key_step_name_and_top_level_field(mutated_config):
    def typos(data):
        step = data["steps"]["generate_questions"]
        step["settings"]["orchestrator.kubernets"] = step["settings"].pop("orchestrator.kubernetes")
        data["steps"]["trian_router"] = data["steps"].pop("train_router")
        data["enable_cahce"] = data.pop("enable_cache")

    messages = "\n".join(_messages(mutated_config(typos)))
    assert "'orchestrator.kubernets'" in messages and "use 'orchestrator.kubernetes'" in messages
    assert "unknown step 'trian_router'" in messages and "did you mean 'train_router'" in messages
    assert "unknown field 'enable_cahce'" in messages and "did you mean 'enable_cache'" in messages


def test_gpu_step_without_gpu_limit_fails(mutated_config):
    path = mutated_config(lambda d: _k8s(d, BIG)["pod_settings"]["resources"]["limits"].pop("nvidia.com/gpu"))
    messages = _messages(path)
    assert any(f"GPU step '{BIG}' has no 'nvidia.com/gpu' limit" in m and "ignores ResourceSettings.gpu_count" in m
               for m in messages), messages


def test_gpu_count_in_resource_settings_is_refused(mutated_config):
    def gpu_count(data):
        data["steps"][BIG]["settings"]["resources"] = {"gpu_count": 4}

    messages = _messages(mutated_config(gpu_count))
    assert any("ignores ResourceSettings.gpu_count" in m and ".resources.gpu_count" in m for m in messages), messages


def test_gpu_on_a_cpu_step_fails(mutated_config):
    def gpu_on_train(data):
        data["steps"]["train_router"] = {"settings": {"orchestrator.kubernetes": {"pod_settings": {
            "resources": {"limits": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}}}}}}

    messages = _messages(mutated_config(gpu_on_train))
    assert any("CPU step 'train_router' asks for nvidia.com/gpu" in m for m in messages), messages


def test_gpu_step_needs_toleration_shm_and_retries(mutated_config):
    def strip(data):
        pod = _k8s(data, "generate_questions")["pod_settings"]
        pod["tolerations"] = []
        pod["volume_mounts"] = [m for m in pod["volume_mounts"] if m["mountPath"] != "/dev/shm"]
        del data["steps"]["generate_questions"]["retry"]

    messages = "\n".join(_messages(mutated_config(strip)))
    assert "does not tolerate the 'nvidia.com/gpu' taint" in messages
    assert "needs /dev/shm mounted from an emptyDir with medium: Memory" in messages
    assert "GPU step 'generate_questions' has no retries" in messages


def test_tensor_parallelism_must_match_gpus(mutated_config):
    def mismatch(data):
        data["steps"][BIG]["extra"]["rgd"]["tensor_parallel_size"] = 8

    messages = _messages(mutated_config(mismatch))
    assert any("tensor_parallel_size 8 does not match the 4 GPU(s)" in m for m in messages), messages


def test_pool_model_without_respond_step_fails(mutated_config):
    messages = _messages(mutated_config(lambda d: d["extra"]["rgd"]["pool"].append("mistralai/Mistral-7B-Instruct-v0.3")))
    assert any("no step 'respond_mistral_7b_instruct_v0_3'" in m for m in messages), messages


def test_request_above_limit_after_merge_fails(mutated_config):
    def too_much(data):
        data["steps"]["train_router"] = {"settings": {"orchestrator.kubernetes": {"pod_settings": {
            "resources": {"requests": {"cpu": "6"}}}}}}

    messages = _messages(mutated_config(too_much))
    assert any("request cpu=6 is above its limit 2" in m for m in messages), messages


def test_plain_text_secret_env_var_fails(mutated_config):
    def plain(data):
        env = _k8s(data, BIG)["pod_settings"]["env"]
        env[0] = {"name": "HF_TOKEN", "value": "not-a-real-token"}

    messages = _messages(mutated_config(plain))
    assert any("env var 'HF_TOKEN' looks like a secret but has a literal value" in m and "secretKeyRef" in m
               for m in messages), messages


def test_token_looking_value_anywhere_fails(mutated_config):
    fake = "hf_" + "x" * 34

    def leak(data):
        data["steps"]["filter_questions"] = {"extra": {"note": f"use {fake}"}}

    messages = _messages(mutated_config(leak))
    assert any("steps.filter_questions.extra.note" in m and "Hugging Face token" in m for m in messages), messages
    assert not any(fake in m for m in messages), "the secret itself must not be echoed"


def test_secret_in_zenml_environment_fails_but_secret_reference_passes(mutated_config):
    messages = _messages(mutated_config(lambda d: d.update(environment={"OPENAI_API_KEY": "abc"})))
    assert any("environment.OPENAI_API_KEY" in m and "plain text" in m for m in messages), messages
    assert _messages(mutated_config(lambda d: d.update(environment={"OPENAI_API_KEY": "{{ openai.api_key }}"}))) == []


def test_container_security_context_is_refused_with_the_reason(mutated_config):
    def container_level(data):
        _k8s(data)["pod_settings"]["container_security_context"] = {"allowPrivilegeEscalation": False}

    messages = _messages(mutated_config(container_level))
    assert any("container_security_context" in m and "additional_pod_spec_args.security_context" in m
               for m in messages), messages


def test_bad_cron_and_bad_yaml(tmp_path, mutated_config):
    messages = _messages(mutated_config(lambda d: d.update(schedule={"cron_expression": "0 3 * *"})))
    assert any("not a 5-field cron line" in m for m in messages), messages
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps: [unclosed\n")
    (message,) = _messages(broken)
    assert "broken.yaml" in message and "not valid YAML" in message


def test_credentials_inside_urls_fail_in_settings_and_in_the_rgd_config(mutated_config):
    def leak(data):
        env = _k8s(data, BIG)["pod_settings"].setdefault("env", [])
        env.append({"name": "MLFLOW_TRACKING_URI", "value": "https://bob:s3cr3tpass@mlflow.example:5000"})
        data["extra"]["rgd"].setdefault("registry", {})["tracking_uri"] = "https://mlflow.example/?token=abcdef123456"

    messages = _messages(mutated_config(leak))
    assert any("pod_settings.env" in m and "credentials inside a URL" in m for m in messages), messages
    assert any("extra.rgd.registry.tracking_uri" in m and "secret in a URL's query" in m for m in messages), messages
    assert not any("s3cr3tpass" in m or "abcdef123456" in m for m in messages), "the secret itself is never echoed"


def test_one_secret_detector_for_the_run_config_and_the_k8s_checks():
    import rgd.config.run_config as run_config
    import rgd.tracking.params as params
    import rgd_k8s.checks as checks
    from rgd import secrets

    assert checks.is_secret_key is secrets.is_secret_key and checks.secret_value_kind is secrets.secret_value_kind
    assert params.is_secret_key is secrets.is_secret_key
    assert run_config.find_plaintext_secrets is secrets.find_plaintext_secrets
