"""Gateway config errors stop ``rgd serve`` at start with one line naming the file and the field (issue 25.5),
never a warning and a server that cannot answer: an upstream URL that is not a URL, a model or alias the registry
does not have, a local store that does not exist. (A pool sharing no model with the router:
tests/rgd/serving/test_gateway_start.py.) A registry that is down is not an error: the gateway waits for it."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner

from rgd.cli import main
from tests.rgd.serving.demo_processes import Process, clean_env
from tests.rgd.serving.gateway_process import move_alias, register, write_config
from tests.rgd.tracking.synthetic import MODELS

NAME = "gw-config-errors"
OPEN = {"auth": {"required": False, "api_keys_env": None}}


@pytest.fixture(scope="module")
def registry(mlflow_home, bundle_dir):
    move_alias(NAME, register(bundle_dir, NAME, _uri(mlflow_home)))
    return mlflow_home


def _uri(home) -> str:
    return f"sqlite:///{home}/mlflow/mlflow.db"


def _invoke(tmp_path, doc, env=None):
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, CliRunner().invoke(main, ["serve", "--config", str(path)], env=env or {})


@pytest.mark.parametrize("url, why", [
    ("localhost:8000/v1", "is not an http(s) URL: it must start with http:// or https://"),
    ("vllm-qwen:8000/v1", "is not an http(s) URL"),
    ("http://", "is not a URL: it names no host"),
    ("http://127.0.0.1:80000/v1", "is not a URL (Port out of range"),
    ("http://127.0.0.1:eighty/v1", "is not a URL (Port could not be cast"),
    ("http://vllm qwen:8000/v1", "is not a URL: it contains a space"),
    ("ftp://127.0.0.1/v1", "is not an http(s) URL"),
    ("http://127.0.0.1:8000/v1#models", "a base URL has no query or fragment"),
    ("http://127.0.0.1:8000/v1?region=eu", "a base URL has no query or fragment"),
    ("http://127.0.0.1:0/v1", "port 0 is not one a server listens on"),
])
def test_an_upstream_url_that_is_not_a_url_names_the_file_and_field(tmp_path, url, why):
    path, res = _invoke(tmp_path, {"pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"},
                                            {"name": "b", "base_url": url}], **OPEN})
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"Error: {path}: invalid pool.1.base_url: Value error, {url!r} ") and why in res.output
    assert "Traceback" not in res.output


def test_a_good_base_url_loses_only_its_trailing_slash():
    from rgd.serving.config import parse_gateway_config

    config = parse_gateway_config({"pool": [{"name": "a", "base_url": "https://api.example.com:8443/v1/"}]})
    assert config.pool[0].base_url == "https://api.example.com:8443/v1"


def test_a_local_store_that_does_not_exist_is_named_and_not_created(tmp_path):
    home = tmp_path / "empty-home"
    path, res = _invoke(tmp_path, {"pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"}], **OPEN},
                        env={"RGD_HOME": str(home), "MLFLOW_TRACKING_URI": None})
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"Error: {path}: registry.tracking_uri: null, so the local store under RGD_HOME: "
                                 f"{home / 'mlflow' / 'mlflow.db'} does not exist yet. Run `rgd run` first")
    assert not home.exists() and "Traceback" not in res.output


def test_a_configured_sqlite_store_that_does_not_exist_is_named(tmp_path):
    db = tmp_path / "typo" / "mlflow.db"
    path, res = _invoke(tmp_path, {"registry": {"tracking_uri": f"sqlite:///{db}"},
                                   "pool": [{"name": "a", "base_url": "http://127.0.0.1:9/v1"}], **OPEN})
    assert res.exit_code == 1 and f"Error: {path}: registry.tracking_uri: no MLflow store at {db}" in res.output
    assert not db.parent.exists()


def _serve_until_exit(tmp_path, registry_home, **registry) -> tuple[int, str, float]:
    config = write_config(tmp_path / "gateway.yaml", model_name=NAME, tracking_uri=_uri(registry_home),
                          pool=[{"name": m, "base_url": "http://127.0.0.1:9/v1"} for m in MODELS],
                          registry=registry, **OPEN)
    t = time.monotonic()
    proc = Process(["serve", "--config", str(config), "--port", "0"], tmp_path / "gateway.log", clean_env())
    try:
        rc = proc.proc.wait(timeout=90)
    finally:
        proc.stop()
    return rc, proc.log(), time.monotonic() - t


def test_an_alias_that_does_not_exist_stops_the_gateway_at_start_naming_the_file_and_field(registry, tmp_path):
    rc, log, seconds = _serve_until_exit(tmp_path, registry, alias="champoin")
    assert rc == 1 and seconds < 90
    assert (f"Error: {tmp_path / 'gateway.yaml'}: registry.alias: {NAME} has no alias 'champoin'; its aliases: "
            "champion (version 1)") in log
    assert "Traceback" not in log


def test_a_model_name_that_is_not_registered_stops_the_gateway_at_start(registry, tmp_path):
    rc, log, seconds = _serve_until_exit(tmp_path, registry, model_name="rgd-routr")
    assert rc == 1 and seconds < 90
    assert f"Error: {tmp_path / 'gateway.yaml'}: registry.model_name: no router is registered as 'rgd-routr'" in log
    assert "Traceback" not in log
