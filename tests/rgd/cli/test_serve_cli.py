"""``rgd serve``: a bad config or a missing client key stops it with one line, before anything listens."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from rgd.cli import main

pytest.importorskip("fastapi", reason="the gateway needs the 'serve' extra")
pytest.importorskip("mlflow", reason="rgd serve reads the registry (extra 'pipeline')")


def _serve(tmp_path, doc, env=None, args=()):
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(doc))
    return CliRunner().invoke(main, ["serve", "--config", str(path), *args], env=env or {})


def test_a_bad_config_names_the_field(tmp_path):
    res = _serve(tmp_path, {"pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1", "timeout_s": -1}]})
    assert res.exit_code == 1 and "invalid pool.0.timeout_s" in res.output
    assert "Traceback" not in res.output


def test_a_port_out_of_range_is_refused_not_wrapped(tmp_path):
    res = _serve(tmp_path, {"pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"}]}, args=["--port", "99999"])
    assert res.exit_code == 2 and "--port" in res.output and "99999 is not in the range 0<=x<=65535" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("entry, field", [
    ({"base_url": "http://gw-user:hunter2-Secret@127.0.0.1:9/v1"}, "pool[0].base_url: this value looks like credentials"),
    ({"api_key_env": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, "invalid pool.0.api_key_env: Value error, this looks like a key"),
    ({"api_key_env": "sk-proj-4eC39HqLyjWDarjtT1zdp7dc"}, "pool[0].api_key_env: this value looks like an OpenAI-style"),
])
def test_a_secret_in_the_gateway_config_is_refused_without_being_shown(tmp_path, entry, field):
    res = _serve(tmp_path, {"pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1", **entry}]})
    assert res.exit_code == 1 and field in res.output and str(tmp_path / "gateway.yaml") in res.output
    assert "hunter2" not in res.output and "4eC39HqLy" not in res.output and "Traceback" not in res.output


def test_required_keys_missing_refuses_to_start(tmp_path):
    res = _serve(tmp_path, {"registry": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"},
                            "pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"}],
                            "auth": {"api_keys_env": "RGD_TEST_SERVE_NO_KEYS"}},
                 env={"RGD_TEST_SERVE_NO_KEYS": ""})
    assert res.exit_code == 1 and "no client API key" in res.output and "Traceback" not in res.output


def test_an_upstream_key_variable_that_is_not_set_is_named(tmp_path):
    res = _serve(tmp_path, {"registry": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"},
                            "pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "RGD_TEST_NOPE"}],
                            "auth": {"required": False, "api_keys_env": None}},
                 env={"RGD_TEST_NOPE": ""})
    assert res.exit_code == 1 and "RGD_TEST_NOPE is not set" in res.output


def _in_fresh_python(code: str, env: dict[str, str]) -> str:
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          check=True, timeout=120).stdout.strip()


_SERVE_UNTIL_TORCH = """
import os, sys
import rgd.serving.app as app
seen = {}
def create_app(config, source, **kw):  # stands in for the gateway: what was the policy when torch could first load?
    seen['torch_loaded'] = 'torch' in sys.modules
    seen['policy'] = os.environ.get('OMP_WAIT_POLICY')
    raise SystemExit(0)
app.create_app = create_app
from click.testing import CliRunner
from rgd.cli import main
CliRunner().invoke(main, ['serve', '--config', os.environ['CFG']])
print(seen['torch_loaded'], seen['policy'])
"""


def test_serve_makes_torch_threads_wait_asleep_before_torch_loads(tmp_path):
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({"registry": {"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"},
                                    "pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"}],
                                    "auth": {"required": False, "api_keys_env": None}}))
    assert _in_fresh_python(_SERVE_UNTIL_TORCH, {"CFG": str(path)}) == "False PASSIVE"
    # a policy the environment sets is kept
    assert _in_fresh_python(_SERVE_UNTIL_TORCH, {"CFG": str(path), "OMP_WAIT_POLICY": "ACTIVE"}) == "False ACTIVE"


def test_passive_openmp_says_when_it_is_too_late():
    code = "import torch\nfrom rgd.serving.openmp import passive_openmp\nprint(passive_openmp())"
    assert _in_fresh_python(code, {}) == "False"
    assert _in_fresh_python(code.replace("import torch\n", ""), {}) == "True"
