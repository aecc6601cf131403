"""Every kustomize overlay renders and validates strictly against the Kubernetes 1.32 schemas."""

from __future__ import annotations

import pytest

from rgd_k8s.kustomize import kustomize_command, overlays, render, validation_errors

pytestmark = pytest.mark.skipif(
    kustomize_command() is None,
    reason="kustomize tool absent: neither kubectl nor kustomize on PATH (bash .ci/install_k8s_tools.sh)",
)

OVERLAYS = {p.name: p for p in overlays()}
POD_TEMPLATE_KINDS = {"Deployment", "Job"}


def _by_kind(docs):
    out = {}
    for doc in docs:
        out.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return out


def _pod_specs(docs):
    for doc in docs:
        if doc["kind"] in POD_TEMPLATE_KINDS:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            yield f"CronJob/{doc['metadata']['name']}", doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_expected_overlays_exist():
    assert {"dev", "prod", "prod-vllm"} <= set(OVERLAYS)


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_overlay_builds_and_validates_strictly(name):
    docs = render(OVERLAYS[name])
    assert docs, f"overlay {name} rendered nothing"
    assert validation_errors(docs, "1.32", strict=True) == []


def test_strict_validation_rejects_a_misspelled_field():
    docs = render(OVERLAYS["dev"])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    errors = validation_errors([deployment], "1.32", strict=True)
    assert len(errors) == 1 and "readynessProbe" in errors[0]


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_every_pod_is_non_root_with_requests_and_limits(name):
    docs = render(OVERLAYS[name])
    for what, spec in _pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert spec["securityContext"]["runAsUser"] > 0, what
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, what
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], what
            assert container["resources"]["requests"] and container["resources"]["limits"], what


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_no_secret_values_in_rendered_objects(name):
    docs = render(OVERLAYS[name])
    assert "Secret" not in _by_kind(docs), "Secrets are created out of band, never kept in files"
    for what, spec in _pod_specs(docs):
        for container in spec["containers"]:
            for env in container.get("env", []):
                if any(w in env["name"] for w in ("PASSWORD", "SECRET", "TOKEN", "ACCESS_KEY")):
                    # a Secret reference, or the path of a mounted Secret file (*_FILE, HF_TOKEN_PATH)
                    assert ("secretKeyRef" in env.get("valueFrom", {})
                            or str(env.get("value", "")).startswith("/run/secrets/")), f"{what}: {env['name']}"


def test_base_objects_and_least_privilege_rbac():
    kinds = _by_kind(render(OVERLAYS["prod"]))
    assert set(kinds["ServiceAccount"]) == {"rgd-orchestrator", "rgd-step", "rgd-submitter", "rgd-gateway"}
    assert kinds["ServiceAccount"]["rgd-step"]["automountServiceAccountToken"] is False
    assert kinds["ServiceAccount"]["rgd-gateway"]["automountServiceAccountToken"] is False  # test_retrain_manifests
    role = kinds["Role"]["rgd-orchestrator"]
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted[("batch", "jobs")] >= {"create", "get", "list", "watch", "delete"}
    assert granted[("", "pods")] == {"get", "list", "watch", "delete"}
    assert granted[("", "pods/log")] == {"get"}
    assert all("*" not in verbs for verbs in granted.values())
    assert not any(r in {"roles", "rolebindings", "clusterroles"} for _, r in granted)
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    binding = kinds["RoleBinding"]["rgd-orchestrator"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rgd-orchestrator", "namespace": "rgd"}]
    assert kinds["PersistentVolumeClaim"]["rgd-model-cache"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_mlflow_uses_postgres_and_s3_from_secrets():
    for name in ("dev", "prod"):
        kinds = _by_kind(render(OVERLAYS[name]))
        container = kinds["Deployment"]["rgd-mlflow"]["spec"]["template"]["spec"]["containers"][0]
        # the credentials are Secret files read by the container's shell, never env values in the pod spec
        assert not [e for e in container.get("env", []) if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]]
        volumes = {v["name"]: v for v in kinds["Deployment"]["rgd-mlflow"]["spec"]["template"]["spec"]["volumes"]}
        assert volumes["postgres-credentials"]["secret"]["secretName"] == "rgd-postgres"
        assert volumes["s3-credentials"]["secret"]["secretName"] == "rgd-s3-credentials"
        script = container["command"][2]
        assert 'MLFLOW_BACKEND_STORE_URI="postgresql://$$(cat /run/secrets/rgd-postgres/username):' in script
        assert 'exec mlflow server "$$@"' in script and container["image"] == "rgd/step:0.1.0"
        assert "--artifacts-destination=$(MLFLOW_ARTIFACTS_DESTINATION)" in container["args"]
        config = next(iter(kinds["ConfigMap"].values()))
        assert config["data"]["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://")


def test_dev_runs_postgres_and_minio_in_cluster_and_prod_does_not():
    dev, prod = _by_kind(render(OVERLAYS["dev"])), _by_kind(render(OVERLAYS["prod"]))
    assert {"rgd-postgres", "rgd-minio"} <= set(dev["Deployment"])
    assert not {"rgd-postgres", "rgd-minio"} & set(prod["Deployment"])
    prod_config = next(iter(prod["ConfigMap"].values()))["data"]
    assert prod_config["POSTGRES_HOST"] != "rgd-postgres"
    # every object lands in the rgd namespace (overlay resources too)
    for kind, objects in dev.items():
        if kind != "Namespace":
            assert all(o["metadata"].get("namespace") == "rgd" for o in objects.values()), kind


def test_vllm_generators_get_gpus_on_gpu_nodes():
    kinds = _by_kind(render(OVERLAYS["prod-vllm"]))
    vllm = {n: d for n, d in kinds["Deployment"].items() if n.startswith("rgd-vllm-")}
    assert set(vllm) == {"rgd-vllm-generator-small", "rgd-vllm-generator-large"}
    for name, deployment in vllm.items():
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        gpus = container["resources"]["limits"]["nvidia.com/gpu"]
        assert f"--tensor-parallel-size={gpus}" in container["args"], name
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        assert spec["nodeSelector"] == {"rgd.dev/pool": "gpu"}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
        assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == "rgd-model-cache"
        env = {e["name"]: e for e in container["env"]}
        assert env["HF_TOKEN_PATH"]["value"] == "/run/secrets/rgd-hf-token/token"
        assert volumes["hf-token"]["secret"] == {"secretName": "rgd-hf-token", "optional": True, "defaultMode": 0o440}
    assert vllm["rgd-vllm-generator-large"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
        "nvidia.com/gpu"] == "4"
    # the GPU component is optional: plain prod has no GPU pods
    prod = _by_kind(render(OVERLAYS["prod"]))
    for _, spec in _pod_specs([d for kind in prod.values() for d in kind.values()]):
        assert all("nvidia.com/gpu" not in c["resources"].get("limits", {}) for c in spec["containers"])
