"""``rgd k8s check``: the deploy checks from the product's command line."""

from __future__ import annotations

from click.testing import CliRunner

from rgd.cli import main

from .conftest import K8S_CONFIGS, REPO_ROOT

SECRET = "hf_" + "a1B2" * 10  # looks like a Hugging Face token


def test_directory_of_good_configs_passes():
    result = CliRunner().invoke(main, ["k8s", "check", str(REPO_ROOT / "configs" / "k8s")])
    assert result.exit_code == 0, result.output
    for path in K8S_CONFIGS:
        assert f"OK    {path}" in result.output


def test_plain_text_secret_fails_with_exit_1(mutated_config):
    def leak(data):
        data["settings"]["orchestrator.kubernetes"]["pod_settings"].setdefault("env", []).append(
            {"name": "HF_TOKEN", "value": SECRET})

    bad = mutated_config(leak)
    result = CliRunner().invoke(main, ["k8s", "check", str(bad)])
    assert result.exit_code == 1, result.output
    assert f"ERROR {bad}" in result.output
    assert "HF_TOKEN" in result.output and "Secret" in result.output


def test_empty_directory_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["k8s", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "no .yaml/.yml files" in result.output


def test_plain_run_configs_get_no_false_errors(tmp_path):
    plain = sorted((REPO_ROOT / "configs").glob("*.yaml"))
    result = CliRunner().invoke(main, ["k8s", "check", *map(str, plain)])
    assert result.exit_code == 0, result.output
    assert all(f"OK    {p}" in result.output for p in plain)
    # the RGD part of a plain config is still checked: a plain-text secret in it is an error
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text((REPO_ROOT / "configs" / "mmlu_pro_vllm.yaml").read_text()
                     + f"\nzenml:\n  settings:\n    orchestrator.kubernetes:\n      pod_settings:\n"
                       f"        env: [{{name: HF_TOKEN, value: {SECRET}}}]\n")
    result = CliRunner().invoke(main, ["k8s", "check", str(leaky)])
    assert result.exit_code == 1 and "HF_TOKEN" in result.output, result.output
