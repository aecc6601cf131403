"""Retraining on Kubernetes (issue 24.4): a drift alarm creates a Job from the retraining CronJob through the
in-cluster API. Against a fake API server on loopback over TLS (tests/rgd/serving/fake_kube_api.py): the Job made
of the shipped CronJob's template, labelled; one Job per version and period across replicas; a refusal (403), a
missing CronJob, a wrong CA and no service account logged and counted, never raised; and the gateway itself
creating the Job on an alarm."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from prometheus_client import CollectorRegistry

from rgd.data.yaml_file import safe_load_all_unique
from rgd.serving.retrain import (
    ALARM_ANNOTATION,
    ALARM_LABEL,
    INSTANTIATE_ANNOTATION,
    MAX_NAME,
    VERSION_LABEL,
    RetrainJobs,
    job_name,
)
from tests.paths import REPO_ROOT

pytest.importorskip("cryptography", reason="the fake API server's certificates need cryptography")

from tests.rgd.serving.fake_kube_api import TOKEN, FakeKubeApi  # noqa: E402
from tests.rgd.serving.gateway_process import chat_body  # noqa: E402

# the gateway in this process, in front of fake upstream processes (the fixtures bundle, pool, upstreams)
from tests.rgd.serving.test_monitoring import _config, _questions, bundle, pool, serve, upstreams  # noqa: E402,F401

RETRAIN_MANIFEST = REPO_ROOT / "k8s" / "base" / "retrain.yaml"
ALARM = {"kind": "accuracy_drop", "reference": 0.71, "recent": 0.52, "change": -0.19, "z": 4.2,
         "n_reference": 200, "n_recent": 200, "at": 1_796_000_000.0, "router_version": "7", "estimator": "cascal"}
DAY = 86_400.0


def shipped_cronjob() -> dict:
    """The CronJob of k8s/base/retrain.yaml, as the API server would return it."""
    docs = safe_load_all_unique(RETRAIN_MANIFEST.read_text())
    return next(d for d in docs if d and d["kind"] == "CronJob")


def _metric(registry, result: str) -> float:
    return registry.get_sample_value("rgd_gateway_retrain_jobs_total", {"result": result})


def _jobs(api: FakeKubeApi, registry, cronjob: str = "rgd-retrain", **kw) -> RetrainJobs:
    return RetrainJobs(cronjob, registry, timeout_s=5.0, service_account_dir=api.service_account_dir,
                       environ=api.environ, **kw)


def test_an_alarm_creates_a_job_from_the_cronjobs_template_labelled_with_the_alarm():
    registry = CollectorRegistry()
    cronjob = shipped_cronjob()
    with FakeKubeApi({"rgd-retrain": cronjob}) as api:
        outcome = asyncio.run(_jobs(api, registry).create(ALARM, DAY, at=ALARM["at"]))
        uid = api.cronjobs["rgd-retrain"]["metadata"]["uid"]
    name = f"rgd-retrain-v7-{int(ALARM['at'] // DAY)}"
    assert outcome == {"cronjob": "rgd-retrain", "job": name, "result": "created"}
    get, post = api.requests
    assert (get["method"], get["path"]) == ("GET", "/apis/batch/v1/namespaces/rgd/cronjobs/rgd-retrain")
    assert (post["method"], post["path"]) == ("POST", "/apis/batch/v1/namespaces/rgd/jobs")
    assert get["auth"] == post["auth"] == f"Bearer {TOKEN}" and post["content_type"] == "application/json"
    job = post["body"]
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job" and job["metadata"]["name"] == name
    assert job["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "rgd-retrain",
                                                   "uid": uid, "controller": True}]
    labels = job["metadata"]["labels"]
    assert labels[ALARM_LABEL] == "accuracy_drop" and labels[VERSION_LABEL] == "7"
    assert labels["app.kubernetes.io/name"] == "rgd-retrain"  # the template's own labels kept
    annotations = job["metadata"]["annotations"]
    assert annotations[INSTANTIATE_ANNOTATION] == "manual"
    assert re.search(r'"kind":"accuracy_drop".*"router_version":"7"', annotations[ALARM_ANNOTATION])
    # the spec is the template's, the pods labelled too: the container runs `rgd run --config ...` unchanged
    template = cronjob["spec"]["jobTemplate"]["spec"]
    pod = job["spec"]["template"]
    assert pod["spec"] == template["template"]["spec"] and pod["spec"]["containers"][0]["command"][-1] == "rgd"
    assert {k: v for k, v in job["spec"].items() if k != "template"} == {
        k: v for k, v in template.items() if k != "template"}
    assert pod["metadata"]["labels"] == {**template["template"]["metadata"]["labels"], ALARM_LABEL: "accuracy_drop",
                                         VERSION_LABEL: "7"}
    assert _metric(registry, "created") == 1.0 and _metric(registry, "forbidden") == 0.0


def test_replicas_seeing_the_same_drift_name_the_same_job_and_it_is_created_once():
    registry = CollectorRegistry()
    with FakeKubeApi({"rgd-retrain": shipped_cronjob()}) as api:
        replicas = [_jobs(api, CollectorRegistry()), _jobs(api, registry)]

        async def both():
            first = await replicas[0].create(ALARM, DAY, at=ALARM["at"])
            second = await replicas[1].create({**ALARM, "kind": "agreement_drop"}, DAY, at=ALARM["at"] + 60)
            next_day = await replicas[1].create(ALARM, DAY, at=ALARM["at"] + DAY)
            return first, second, next_day

        first, second, next_day = asyncio.run(both())
    assert first["result"] == "created" and second["result"] == "exists" and second["status"] == 409
    assert second["job"] == first["job"] and "already exists" in second["error"]
    assert next_day["result"] == "created" and next_day["job"] != first["job"]
    assert len(api.jobs) == 2 and _metric(registry, "exists") == 1.0 and _metric(registry, "created") == 1.0


def test_a_refused_job_is_logged_and_counted_not_raised(caplog):
    registry = CollectorRegistry()
    with FakeKubeApi({"rgd-retrain": shipped_cronjob()}, forbid_create=True) as api, \
            caplog.at_level(logging.ERROR, logger="rgd.serving.retrain"):
        outcome = asyncio.run(_jobs(api, registry).create(ALARM, DAY))
    assert outcome["result"] == "forbidden" and outcome["status"] == 403
    assert 'cannot create resource "jobs"' in outcome["error"] and api.jobs == {}
    assert _metric(registry, "forbidden") == 1.0 and _metric(registry, "created") == 0.0
    assert any("forbidden" in r.getMessage() and "rgd-retrain" in r.getMessage() for r in caplog.records)


def _outcome(cronjob: str, service_account_dir, environ) -> tuple[dict, CollectorRegistry]:
    registry = CollectorRegistry()
    jobs = RetrainJobs(cronjob, registry, timeout_s=5.0, service_account_dir=service_account_dir, environ=environ)
    return asyncio.run(jobs.create(ALARM, DAY)), registry


def test_a_missing_cronjob_a_wrong_ca_and_no_service_account_are_counted_not_raised(tmp_path):
    with FakeKubeApi({"rgd-retrain": shipped_cronjob()}) as api, FakeKubeApi({}) as other:
        missing = _outcome("rgd-retrain-typo", api.service_account_dir, api.environ)
        # the token and namespace of `api`, the CA of another server: TLS verification fails before any request
        wrong_ca = tmp_path / "sa"
        wrong_ca.mkdir()
        for f in ("token", "namespace"):
            (wrong_ca / f).write_text((api.service_account_dir / f).read_text())
        (wrong_ca / "ca.crt").write_text((other.service_account_dir / "ca.crt").read_text())
        untrusted = _outcome("rgd-retrain", wrong_ca, api.environ)
        seen = len(api.requests)
        outside = _outcome("rgd-retrain", api.service_account_dir, {})
        no_token = _outcome("rgd-retrain", tmp_path / "none", api.environ)
    assert missing[0]["result"] == "not_found" and missing[0]["status"] == 404
    assert "rgd-retrain-typo" in missing[0]["error"]
    assert untrusted[0]["result"] == "connect" and "CERTIFICATE_VERIFY_FAILED" in untrusted[0]["error"]
    assert seen == 1  # only the missing CronJob's GET reached the server
    assert outside[0]["result"] == no_token[0]["result"] == "not_in_cluster"
    assert "KUBERNETES_SERVICE_HOST" in outside[0]["error"] and "token" in no_token[0]["error"]
    for (_, registry), result in ((missing, "not_found"), (untrusted, "connect"), (outside, "not_in_cluster"),
                                        (no_token, "not_in_cluster")):
        assert _metric(registry, result) == 1.0 and _metric(registry, "created") == 0.0, result


def test_job_names_fit_kubernetes_and_are_one_per_version_and_period():
    at = 1_796_000_000.0
    assert job_name("rgd-retrain", "7", at, DAY) == job_name("rgd-retrain", "7", at + 3600, DAY)
    assert job_name("rgd-retrain", "7", at, DAY) != job_name("rgd-retrain", "8", at, DAY)
    long = job_name("r" * 52, "Version 12.3+local/build", at, 1.0)
    assert len(long) <= MAX_NAME and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", long)
    assert "-vversion-12-3-" in long


# ---------------------------------------------------------------------------------------------- in the gateway
def test_the_gateway_creates_the_retraining_job_on_an_alarm_off_the_request_path(bundle, pool, monkeypatch):
    import rgd.serving.retrain as retrain

    questions = _questions(20) + [f"zzqx vvkw unseen {i}" for i in range(20)]

    def run(api):
        monkeypatch.setattr(retrain, "SERVICE_ACCOUNT_DIR", api.service_account_dir)  # where the pod's would be
        for k, v in api.environ.items():
            monkeypatch.setenv(k, v)

        async def scenario(gw, client):
            for q in questions:
                await client.post("/v1/chat/completions", content=chat_body(q))
            await gw.shadow.refresh()
            await gw.shadow.refresh()  # within the cooldown: no second alarm, no second Job
            deadline = time.monotonic() + 20
            while gw.shadow.tasks and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return gw.shadow.report(), (await client.get("/metrics")).text

        drift = {"ood_requests": 20, "ood_rise": 0.3, "retrain_job": "rgd-retrain"}
        return serve(bundle, _config(pool, share=0.0, drift=drift), scenario)

    with FakeKubeApi({"rgd-retrain": shipped_cronjob()}) as api:
        report, metrics = run(api)
    # the unseen questions raise two alarms (their share out of distribution, and their similarity): one Job, the
    # second alarm's creation answered "already exists" (the name is the version's and the period's, not the kind's)
    alarms = {a["kind"]: a for a in report["alarms"]}
    assert sorted(alarms) == ["ood_rise", "similarity_drop"]
    alarm = alarms["ood_rise"]
    assert sorted(a["retrain_job"]["result"] for a in alarms.values()) == ["created", "exists"]
    posted = api.posted_jobs()  # the second POST answered 409
    assert len(posted) == 2 and {j["metadata"]["name"] for j in posted} == {alarm["retrain_job"]["job"]}
    [created] = [k for k, a in alarms.items() if a["retrain_job"]["result"] == "created"]
    [job] = [j for j in posted if j["metadata"]["labels"][ALARM_LABEL] == created]
    assert job["metadata"]["labels"][VERSION_LABEL] == "1"
    assert "zzqx" not in str(posted)  # no user text goes into the cluster
    assert re.search(r'^rgd_gateway_retrain_jobs_total\{result="created"\} 1\.0', metrics, re.M)

    with FakeKubeApi({"rgd-retrain": shipped_cronjob()}, forbid_create=True) as api:
        report, metrics = run(api)
    assert [a["retrain_job"]["result"] for a in report["alarms"]] == ["forbidden", "forbidden"]
    assert report["requests"] == len(questions)
    assert re.search(r'^rgd_gateway_retrain_jobs_total\{result="forbidden"\} 2\.0', metrics, re.M)


def test_the_retrain_job_option_is_a_cronjob_name():
    from rgd.errors import ParameterError
    from rgd.serving.config import parse_gateway_config

    pool = [{"name": "a", "base_url": "http://127.0.0.1:1/v1"}]
    spec = parse_gateway_config({"pool": pool, "monitoring": {"drift": {"retrain_job": "rgd-retrain"}}})
    assert spec.monitoring.drift.retrain_job == "rgd-retrain"
    assert parse_gateway_config({"pool": pool}).monitoring.drift.retrain_job is None
    for bad in ("RGD_Retrain", "x" * 53, "-rgd"):
        with pytest.raises(ParameterError, match=re.escape("monitoring.drift.retrain_job")):
            parse_gateway_config({"pool": pool, "monitoring": {"drift": {"retrain_job": bad}}}, "serve.yaml")
