"""`rgd run --config` with a real-model config and no test_set: label-free end to end, to a registered and
promoted router. The real models are a simulated world behind the OpenAI protocol on loopback
(tests/pipelines/sim_openai_server.py), so the run takes the real-model path: LLMSource, the openai backend,
the generation parser and the answer extraction."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT
from tests.pipelines.conftest import isolated_env, mlflow_client, rgd


@pytest.fixture(scope="module")
def label_free(tmp_path_factory):
    home = tmp_path_factory.mktemp("rgd_label_free")
    subjects = home / "subjects.yaml"
    server = subprocess.Popen([sys.executable, "-m", "tests.pipelines.sim_openai_server", "--subjects-out",
                               str(subjects)], cwd=REPO_ROOT, env=isolated_env(home), stdout=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("PORT "), line
        url = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        import urllib.request

        pool = json.loads(urllib.request.urlopen(url.removesuffix("/v1"), timeout=10).read())["pool"]
        backend = {"base_url": url, "api_key_env": None, "timeout_s": 30, "max_retries": 0}
        config = home / "label_free.yaml"
        config.write_text(json.dumps({
            "name": "label-free",
            "generators": [{"kind": "openai", "model": "sim-gen-strong", "params": backend}],
            "pool": {"kind": "openai", "params": backend, "models": pool},
            "generation": {"subjects": str(subjects), "n_per_subject": 60, "questions_per_call": 5,
                           "self_answer_samples": 0},
            "embedder": "tfidf", "respond": {"checkpoint_every": 32},
            # CASCAL: on this small world truth_cluster routes like best_single, so it could not pass the gate
            "router": {"name": "cascal", "baselines": ["best_single", "knn", "random"]},
        }))
        first = rgd(home, "run", "--config", str(config))
        second = rgd(home, "run", "--config", str(config))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"home": home, "first": first, "second": second, "pool": pool}



def test_runs_label_free_to_a_registered_promoted_router(label_free):
    out = label_free["first"]
    assert "label-free end to end" in out.stderr
    assert "label-free estimate on" in out.stdout and "held-out generated questions" in out.stdout
    assert "test set:" not in out.stdout  # no labelled evaluation at all
    assert "promoted to champion" in out.stdout, out.stdout[-2000:]
    client = mlflow_client(label_free["home"])
    mv = client.get_model_version_by_alias("rgd-router", "champion")
    tags = mv.tags
    assert tags["label_free"] == "true" and tags["estimate_on"] == "holdout"
    assert tags["estimate_set_id"].startswith("sha256:") and tags["promotion.metric"] == "estimated_top1"
    metrics = client.get_run(mv.run_id).data.metrics
    assert "top1" not in metrics and 0 < metrics["estimated_top1"] <= 1
    assert metrics["estimated_top1"] > metrics["best_single.estimated_top1"]
    artifacts = [a.path for a in client.list_artifacts(mv.run_id, "plots")]
    assert "plots/estimated_accuracy.png" in artifacts and "plots/accuracy.png" not in artifacts


def test_same_heldout_set_is_compared_and_the_decision_recorded(label_free):
    out = label_free["second"]
    assert "registered rgd-router version 2" in out.stdout
    client = mlflow_client(label_free["home"])
    v1, v2 = client.get_model_version("rgd-router", "1"), client.get_model_version("rgd-router", "2")
    assert v1.tags["estimate_set_id"] == v2.tags["estimate_set_id"]  # same generated data: same held-out set
    # the identical router does not beat the champion by more than the margin: it stays challenger, and why
    assert v2.tags["promotion.decision"] == "refused" and "does not beat the champion" in v2.tags["promotion.reason"]
