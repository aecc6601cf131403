"""The serving gateway's manifests: what the rendered overlays hold for it, and its config parses as the product's."""

from __future__ import annotations

import pytest
import yaml

from rgd.serving.config import parse_gateway_config
from rgd_k8s.kustomize import kustomize_command, overlays, render

pytestmark = pytest.mark.skipif(
    kustomize_command() is None,
    reason="kustomize tool absent: neither kubectl nor kustomize on PATH (bash .ci/install_k8s_tools.sh)",
)

OVERLAYS = {p.name: p for p in overlays()}


def _kinds(name: str) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for doc in render(OVERLAYS[name]):
        out.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return out


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_the_gateway_replaces_mlflow_models_serve(name):
    kinds = _kinds(name)
    assert "rgd-router-serving" not in kinds["Deployment"]
    deployment = kinds["Deployment"]["rgd-gateway"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"] == ["rgd", "serve"] and "--config" in c["args"]
    assert not c["image"].endswith(":latest")
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" == c["startupProbe"]["httpGet"]["path"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000 and pod["automountServiceAccountToken"] is False
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["cpu"] and c["resources"]["limits"]["memory"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["client-keys"]["secret"]["secretName"] == "rgd-gateway-keys"
    assert volumes["config"]["configMap"]["name"] == "rgd-gateway-config"
    assert "emptyDir" in volumes["tmp"]  # the only writable path
    env = {e["name"]: e for e in c["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "rgd-gateway-upstream-keys"
    assert {"configMapRef": {"name": next(n for n in kinds["ConfigMap"] if n.startswith("rgd-config"))}} in c["envFrom"]
    # around it: Service, HPA (>= 2 replicas), PDB, NetworkPolicy, all selecting the gateway's pods
    assert kinds["Service"]["rgd-gateway"]["spec"]["selector"] == {"app.kubernetes.io/name": "rgd-gateway"}
    hpa = kinds["HorizontalPodAutoscaler"]["rgd-gateway"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "rgd-gateway" and hpa["minReplicas"] == 2 < hpa["maxReplicas"]
    assert kinds["PodDisruptionBudget"]["rgd-gateway"]["spec"]["minAvailable"] == 1
    policy = kinds["NetworkPolicy"]["rgd-gateway"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "rgd-gateway"}
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    egress_to = [peer for rule in policy["egress"] for peer in rule["to"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rgd-mlflow"}}} in egress_to
    assert {"podSelector": {"matchLabels": {"rgd.dev/gateway-upstream": "true"}}} in egress_to


def test_the_gateway_config_map_is_a_valid_gateway_config_reading_keys_from_the_secret():
    kinds = _kinds("prod")
    text = kinds["ConfigMap"]["rgd-gateway-config"]["data"]["gateway.yaml"]
    config = parse_gateway_config(yaml.safe_load(text), "rgd-gateway-config")
    assert config.auth.required and config.auth.api_keys_file == "/etc/rgd-gateway/keys/keys"
    assert config.server.host == "0.0.0.0" and config.server.port == 8080 and not config.server.log_prompts
    assert config.registry.tracking_uri is None  # MLFLOW_TRACKING_URI from rgd-config
    assert all(u.api_key_env in (None, "OPENAI_API_KEY") for u in config.pool)


def test_in_cluster_pool_servers_are_reachable_through_the_network_policy():
    vllm = {n: d for n, d in _kinds("prod-vllm")["Deployment"].items() if n.startswith("rgd-vllm-")}
    assert vllm
    for deployment in vllm.values():
        assert deployment["spec"]["template"]["metadata"]["labels"]["rgd.dev/gateway-upstream"] == "true"
