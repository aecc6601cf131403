"""The retraining CronJob and the gateway's right to start it (issue 24.4), in every rendered overlay: the CronJob
runs the training pipeline with the same image and conventions as the rest of k8s/; the gateway's account may get
that CronJob and create Jobs, nothing more; and the Job the gateway's code makes of the rendered CronJob, through a
fake API server that enforces the rendered RBAC, is allowed and validates strictly."""

from __future__ import annotations

import asyncio
import shlex

import pytest
import yaml

from rgd.serving.config import parse_gateway_config
from rgd_k8s.kustomize import kustomize_command, overlays, render, validation_errors
from tests.k8s.conftest import K8S_CONFIGS
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(
    kustomize_command() is None,
    reason="kustomize tool absent: neither kubectl nor kustomize on PATH (bash .ci/install_k8s_tools.sh)",
)

OVERLAYS = {p.name: p for p in overlays()}
GATEWAY_SA, CRONJOB = "rgd-gateway", "rgd-retrain"
IMAGE_WORKDIR = "/app"  # k8s/images/Dockerfile: WORKDIR /app, the repository copied there


def _kinds(name: str) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for doc in render(OVERLAYS[name]):
        out.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return out


def granted_to(kinds: dict, account: str, namespace: str = "rgd") -> set[tuple[str, str, str, str | None]]:
    """Every (apiGroup, resource, verb, resourceName or None) the bindings give ``account``."""
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    out = set()
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in kinds.get(kind, {}).values():
            if subject not in binding.get("subjects", []):
                continue
            role = kinds[binding["roleRef"]["kind"]][binding["roleRef"]["name"]]
            for rule in role["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            for name in rule.get("resourceNames") or [None]:
                                out.add((group, resource, verb, name))
    return out


def allows(grants: set, group: str, resource: str, verb: str, name: str | None) -> bool:
    """RBAC's decision for one request (a grant without resourceNames covers every name)."""
    return any(g in (group, "*") and r in (resource, "*") and v in (verb, "*") and n in (None, name)
               for g, r, v, n in grants)


def _projected_token(pod: dict, container: dict) -> dict:
    from rgd.serving.retrain import SERVICE_ACCOUNT_DIR

    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(SERVICE_ACCOUNT_DIR)]
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    sources = volume["projected"]["sources"]
    token = next(s["serviceAccountToken"] for s in sources if "serviceAccountToken" in s)
    assert mount["readOnly"] is True and token["path"] == "token" and token["expirationSeconds"] <= 3600
    assert {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}} in sources
    assert {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}} \
        in sources
    return token


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_the_retraining_cronjob_runs_the_training_pipeline_like_the_rest_of_k8s(name):
    kinds = _kinds(name)
    cronjob = kinds["CronJob"][CRONJOB]
    spec = cronjob["spec"]
    assert spec["suspend"] is True and spec["concurrencyPolicy"] == "Forbid"  # no overlay schedules it yet
    assert len(spec["schedule"].split()) == 5
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (c,) = pod["containers"]
    gateway = kinds["Deployment"]["rgd-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == gateway["image"] and not c["image"].endswith(":latest")
    assert c["envFrom"] == gateway["envFrom"]  # rgd-config: MLFLOW_TRACKING_URI and the rest
    # `rgd run --config FILE` where FILE is one of the shipped Kubernetes run configs, in the image's copy of the repo
    script, argv = c["command"][2], c["command"][3:] + c["args"]
    assert script.rstrip().endswith('exec rgd run "$$@"') and argv[0] == "rgd" and argv[1] == "--config"
    assert c["workingDir"] == IMAGE_WORKDIR and REPO_ROOT / argv[2] in K8S_CONFIGS
    # the ZenML API key is a mounted Secret file read by the shell, never a value or a secretKeyRef in the spec
    assert 'ZENML_STORE_API_KEY="$$(cat /run/secrets/rgd-zenml-api-key/api-key)"' in script
    assert not [e for e in c.get("env", []) if "valueFrom" in e or "KEY" in e["name"] or "TOKEN" in e["name"]]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["zenml-api-key"]["secret"]["secretName"] == "rgd-zenml-api-key"
    assert "zenml stack set" in shlex.join(c["command"])
    # it submits the pipeline as rgd-submitter (which may create the orchestrator Job), its token projected
    assert pod["serviceAccountName"] == "rgd-submitter" and pod["automountServiceAccountToken"] is False
    _projected_token(pod, c)
    assert pod["restartPolicy"] == "Never" and job["backoffLimit"] <= 2 and job["ttlSecondsAfterFinished"] > 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsUser"] >= 10000
    assert {"name": "HOME", "value": "/tmp"} in c["env"]
    assert all(e["value"].startswith("/tmp") for e in c["env"] if e["name"] in ("RGD_HOME", "ZENML_CONFIG_PATH"))
    assert "emptyDir" in volumes["tmp"]
    policy = kinds["NetworkPolicy"][CRONJOB]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= job["template"]["metadata"]["labels"].items()
    assert policy["policyTypes"] == ["Ingress"] and "ingress" not in policy  # it only calls out


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_the_gateway_may_get_the_retraining_cronjob_and_create_jobs_and_nothing_more(name):
    kinds = _kinds(name)
    grants = granted_to(kinds, GATEWAY_SA)
    assert grants == {("batch", "jobs", "create", None), ("batch", "cronjobs", "get", CRONJOB)}
    for request in (("batch", "jobs", "list", None), ("batch", "jobs", "delete", "x"), ("batch", "jobs", "get", "x"),
                    ("batch", "cronjobs", "get", "other"), ("batch", "cronjobs", "list", None),
                    ("batch", "cronjobs", "patch", CRONJOB), ("batch", "cronjobs", "create", None),
                    ("batch", "cronjobs/finalizers", "update", CRONJOB), ("", "pods", "create", None),
                    ("", "secrets", "get", "rgd-gateway-keys")):
        assert not allows(grants, *request), request
    assert "ClusterRoleBinding" not in kinds
    deployment = kinds["Deployment"]["rgd-gateway"]["spec"]["template"]["spec"]
    assert deployment["serviceAccountName"] == GATEWAY_SA and deployment["automountServiceAccountToken"] is False
    assert kinds["ServiceAccount"][GATEWAY_SA]["automountServiceAccountToken"] is False
    _projected_token(deployment, deployment["containers"][0])
    # only the gateway runs as rgd-gateway
    for kind in ("Deployment", "Job", "CronJob"):
        for obj_name, obj in kinds.get(kind, {}).items():
            pod = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else \
                obj["spec"]["template"]["spec"]
            assert (pod.get("serviceAccountName") == GATEWAY_SA) == (obj_name == "rgd-gateway"), obj_name
    # the gateway's config names the CronJob the Role lets it read
    config = parse_gateway_config(yaml.safe_load(kinds["ConfigMap"]["rgd-gateway-config"]["data"]["gateway.yaml"]))
    assert config.monitoring.drift.retrain_job == CRONJOB and config.monitoring.drift.retrain_command is None
    # and its network policies let it reach an in-cluster API server endpoint (443 or 6443)
    egress = [rule for policy in kinds["NetworkPolicy"].values()
              if policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "rgd-gateway"}}
              for rule in policy["spec"].get("egress", [])]
    assert any({"protocol": "TCP", "port": 6443} in r["ports"] and {"ipBlock": {"cidr": "10.0.0.0/8"}} in r["to"]
               for r in egress)


def test_the_job_the_gateway_makes_of_the_rendered_cronjob_is_allowed_by_the_rendered_rbac_and_validates():
    pytest.importorskip("aiohttp")
    pytest.importorskip("cryptography")
    from prometheus_client import CollectorRegistry

    from rgd.serving.retrain import RetrainJobs
    from tests.rgd.serving.fake_kube_api import FakeKubeApi

    kinds = _kinds("prod")
    grants = granted_to(kinds, GATEWAY_SA)
    refused = []

    def authorize(verb, resource, obj_name):
        ok = allows(grants, "batch", resource, verb, obj_name)
        if not ok:
            refused.append((verb, resource, obj_name))
        return ok

    alarm = {"kind": "ood_rise", "reference": 0.02, "recent": 0.31, "change": 0.29, "z": 9.1, "n_reference": 1000,
             "n_recent": 1000, "at": 1_796_000_000.0, "router_version": "3"}
    with FakeKubeApi({CRONJOB: kinds["CronJob"][CRONJOB]}, authorize=authorize) as api:
        jobs = RetrainJobs(CRONJOB, CollectorRegistry(), service_account_dir=api.service_account_dir,
                           environ=api.environ)
        outcome = asyncio.run(jobs.create(alarm, 86_400.0))
        # what the same account could not do, to show the fake enforces the rules
        other = asyncio.run(RetrainJobs("rgd-other", CollectorRegistry(), service_account_dir=api.service_account_dir,
                                        environ=api.environ).create(alarm, 86_400.0))
    assert outcome["result"] == "created" and other["result"] == "forbidden"
    assert refused == [("get", "cronjobs", "rgd-other")]
    [job] = api.posted_jobs()
    assert validation_errors([{**job, "metadata": {**job["metadata"], "namespace": "rgd"}}], "1.32", strict=True) == []
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "rgd-submitter"
