"""Plain-text secrets in a run config are refused before anything runs, naming the field and the env var."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rgd.config.run_config import parse_run_config
from rgd.errors import DataError
from rgd.secrets import find_plaintext_secrets, is_secret_key, secret_value_kind

OPENAI_RUN = {
    "benchmark": "mmlu_pro",
    "test_set": {"dir": "data/mmlu_pro"},
    "generators": [{"kind": "openai", "model": "gen", "params": {"base_url": "http://127.0.0.1:8000/v1"}}],
    "pool": {"kind": "openai", "models": ["a", "b"], "params": {"base_url": "http://127.0.0.1:8001/v1"}},
}


def _with(path: tuple, value) -> dict:
    import copy

    data = copy.deepcopy(OPENAI_RUN)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, field, env", [
    (("pool", "params", "api_key"), "abc123notreal", "pool.params.api_key", "OPENAI_API_KEY"),
    (("generators", 0, "params", "api_key"), "sk-abcdefghijklmnop", "generators[0].params.api_key", "OPENAI_API_KEY"),
    (("pool", "params", "base_url"), "http://user:hunter22@127.0.0.1:8001/v1", "pool.params.base_url",
     "OPENAI_API_KEY"),
    (("registry",), {"tracking_uri": "https://bob:pw12345@mlflow.example"}, "registry.tracking_uri",
     "MLFLOW_TRACKING_PASSWORD"),
    (("pool", "params", "base_url"), "https://api.example/v1?api_key=abcdef", "pool.params.base_url",
     "OPENAI_API_KEY"),
])
def test_plain_text_secret_is_refused_naming_field_and_env_var(path, value, field, env):
    with pytest.raises(DataError) as err:
        parse_run_config(_with(path, value), "run.yaml")
    message = str(err.value)
    assert "plain-text secret" in message and field in message and env in message, message
    secret = value if isinstance(value, str) else value["tracking_uri"]
    for part in ("abc123notreal", "sk-abcdefghijklmnop", "hunter22", "pw12345", "abcdef"):
        if part in secret:
            assert part not in message, "the secret itself is never echoed"


def test_env_var_names_and_references_are_fine():
    ok = parse_run_config(_with(("pool", "params", "api_key_env"), "MY_POOL_KEY"), "run.yaml")
    assert ok.pool.params["api_key_env"] == "MY_POOL_KEY"
    parse_run_config(_with(("pool", "params", "max_tokens"), 512), "run.yaml")
    assert find_plaintext_secrets({"api_key": "${OPENAI_API_KEY}", "token": "{{ hf.token }}"}) == []


def test_detector_words_and_values():
    for key in ("api_key", "HF_TOKEN", "client_secret", "db.password", "auth_header", "AWS_ACCESS_KEY_ID"):
        assert is_secret_key(key), key
    for key in ("max_tokens", "tokenizer", "api_key_env", "TOKENIZERS_PARALLELISM", "keywords", "base_url"):
        assert not is_secret_key(key), key
    assert secret_value_kind("postgresql://u:p4ss@db:5432/mlflow") == "credentials inside a URL"
    assert secret_value_kind("http://127.0.0.1:8000/v1") is None
    assert secret_value_kind("hf_" + "a" * 30) == "a Hugging Face token"


def test_rgd_run_refuses_before_any_step(tmp_path):
    """Through the command line: exit 1 with the field named, and nothing written under RGD_HOME by ZenML."""
    cfg = tmp_path / "secret.yaml"
    import yaml

    cfg.write_text(yaml.safe_dump(_with(("pool", "params", "api_key"), "abc123notreal")))
    rgd = Path(sys.executable).with_name("rgd")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_", "RGD_"))}
    env["RGD_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([str(rgd), "run", "--config", str(cfg)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "pool.params.api_key" in out and "OPENAI_API_KEY" in out, out
    assert "abc123notreal" not in out and "Traceback" not in out
    assert not (tmp_path / "home" / "zenml" / "local_stores").exists()
