"""The local demo over HTTP on loopback (issue 25): ``rgd demo-upstreams`` serves the simulated pool, ``rgd serve
--config configs/serve/demo.yaml`` finds the champion in the local default store with no environment variable
(no MLFLOW_TRACKING_URI), answers a chat completion with a simulated model's reply, and writes nothing outside
RGD_HOME: not in the working directory (MLflow's default ``./mlflow.db``), not in HOME, not in the temp dir."""

from __future__ import annotations

import pytest

from rgd.config.aliases import DEFAULT_MODEL_NAME
from rgd.serving.demo_upstreams import DEFAULT_BASE_PORT
from tests.rgd.serving.demo_processes import (
    DEMO_CONFIG,
    DemoUpstreamsProcess,
    Process,
    clean_env,
    demo_config,
    get,
    post_chat,
    simulated_bundle,
)
from tests.rgd.serving.gateway_process import move_alias, register

BOUND_S = 90  # every wait below is bounded by this


@pytest.fixture(scope="module")
def champion(mlflow_home, tmp_path_factory):
    """A router over the simulated pool, registered as rgd-router@champion in the local store of ``mlflow_home``."""
    bundle = simulated_bundle(tmp_path_factory.mktemp("sim-bundle") / "cascal")
    move_alias(DEFAULT_MODEL_NAME, register(bundle, DEFAULT_MODEL_NAME, None))
    return mlflow_home


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory):
    up = DemoUpstreamsProcess(tmp_path_factory.mktemp("demo") / "demo-upstreams.log")
    yield up
    up.stop()


def _pool_names() -> list[str]:
    from rgd.config.run_config import embedded_default
    from rgd.simulated.pool import model_names

    sim = embedded_default().simulated
    return model_names(sim.world.subjects(), sim.pool)


def test_the_shipped_demo_config_names_the_embedded_default_pool_on_the_demo_ports():
    from rgd.serving.config import load_gateway_config

    config = load_gateway_config(DEMO_CONFIG)
    assert [u.name for u in config.pool] == _pool_names()
    assert [u.base_url for u in config.pool] == [f"http://127.0.0.1:{DEFAULT_BASE_PORT + i}/v1"
                                                 for i in range(len(config.pool))]
    assert config.registry.tracking_uri is None and config.registry.model_name == DEFAULT_MODEL_NAME
    assert config.server.host == "127.0.0.1"


def test_demo_upstreams_print_their_models_and_answer_as_openai_servers(upstreams):
    log = upstreams.log()
    for i, name in enumerate(_pool_names()):
        assert f"{name}" in log and f"http://127.0.0.1:{upstreams.base_port + i}/v1" in log
        status, doc = get(f"http://127.0.0.1:{upstreams.base_port + i}/v1/models")
        assert status == 200 and doc["data"][0]["id"] == name
    url = f"http://127.0.0.1:{upstreams.base_port}"
    status, _, doc = post_chat(url, "What is the zokrici revon?", model=_pool_names()[0])
    assert status == 200 and doc["object"] == "chat.completion"
    text = doc["choices"][0]["message"]["content"]
    assert text.startswith(f"[{_pool_names()[0]}, a simulated model]") and text.rstrip(".")[-3:] in {"(A)", "(B)", "(C)", "(D)"}
    # the same question, the same answer; a model the server does not serve is a 404; bad JSON a 400
    assert post_chat(url, "What is the zokrici revon?", model=_pool_names()[0])[2]["choices"] == doc["choices"]
    assert post_chat(url, "hi", model="gpt-4o")[0] == 404
    assert post_chat(url, "")[0] == 400


def test_the_demo_answers_a_chat_completion_end_to_end_with_no_environment_variable(champion, upstreams, tmp_path):
    """`rgd serve --config configs/serve/demo.yaml` in a fresh directory, RGD_HOME set and nothing else."""
    cwd, user_home, tmp = tmp_path / "cwd", tmp_path / "user-home", tmp_path / "tmp"
    for d in (cwd, user_home, tmp):
        d.mkdir()
    config, port = demo_config(tmp_path / "demo.yaml", upstreams.base_port)
    env = clean_env(RGD_HOME=str(champion), HOME=str(user_home), TMPDIR=str(tmp))
    gateway = Process(["serve", "--config", str(config)], tmp_path / "gateway.log", env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = gateway.wait_for(f"{url}/readyz", BOUND_S)
        assert ready["status"] == "ready" and ready["router_version"] == "1", ready
        status, headers, doc = post_chat(url, "Which zokrici revon sioguful is the right one?")
        assert status == 200, doc
        model = headers["x-rgd-model"]
        assert model in _pool_names() and doc["rgd"]["router_version"] == "1"
        assert doc["choices"][0]["message"]["content"].startswith(f"[{model}, a simulated model]")
        assert headers["x-rgd-ranking"].split(",")[0] == model and len(doc["rgd"]["ranking"]) == 9
        status, _, doc = post_chat(url, "Which zokrici revon sioguful is the right one?", model="rgd-router:top3")
        assert status == 200 and len(doc["rgd"]["consensus"]["votes"]) == 3, doc
    finally:
        gateway.stop()
    assert "not found" not in gateway.log() and "Downloading artifacts" not in gateway.log()
    # nothing written outside RGD_HOME: no ./mlflow.db, nothing in HOME, the router's temporary copy removed
    assert list(cwd.iterdir()) == [] and list(user_home.iterdir()) == [] and list(tmp.iterdir()) == []


def test_demo_upstreams_refuse_a_port_in_use_naming_it(upstreams, tmp_path):
    proc = Process(["demo-upstreams", "--base-port", str(upstreams.base_port)], tmp_path / "second.log", clean_env())
    try:
        assert proc.proc.wait(timeout=BOUND_S) == 1
    finally:
        proc.stop()
    log = proc.log()
    assert f"Error: cannot listen on 127.0.0.1:{upstreams.base_port}" in log and "--base-port" in log
    assert "Traceback" not in log


def test_demo_upstreams_refuse_a_run_config_without_a_simulated_pool():
    from click.testing import CliRunner

    from rgd.cli import main
    from tests.paths import REPO_ROOT

    path = REPO_ROOT / "configs" / "openai_compatible.yaml"
    res = CliRunner().invoke(main, ["demo-upstreams", "--config", str(path)])
    assert res.exit_code == 1 and "demo-upstreams serves a simulated pool only" in res.output, res.output
    assert "Traceback" not in res.output
