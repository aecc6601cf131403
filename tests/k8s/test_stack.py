"""The ZenML stack registration commands, parsed with ZenML's own CLI parser and validated against the
flavors' config models (no server needed)."""

from __future__ import annotations

import json
import shlex

import pytest

from rgd_k8s.stack import ClusterStack, EnvRef, register_commands, resolve, to_shell
from rgd_k8s.strict import unknown_fields

STACK = ClusterStack(kubernetes_context="kind-rgd", registry_uri="registry.example.com/rgd",
                     s3_endpoint_url="http://minio.example.com:9000")


def _parsed(commands):
    """{(group, verb): (name, {key: value})} using zenml's own --key=value parser."""
    from zenml.cli.utils import parse_name_and_extra_arguments

    out = {}
    for command in commands:
        assert command[0] == "zenml"
        group, verb = command[1], command[2]
        if group == "stack":
            out[(group, verb)] = (command[3], command[4:])
            continue
        args = [part for part in command[3:] if not isinstance(part, EnvRef)]
        flavor = next((a.split("=", 1)[1] for a in args if a.startswith("--flavor=")), None)
        name, extra = parse_name_and_extra_arguments([a for a in args if not a.startswith("--flavor=")])
        out[(group, verb, name)] = (flavor, extra)
    return out


def _config_class(group, flavor):
    from zenml.container_registries.base_container_registry import BaseContainerRegistryConfig
    from zenml.integrations.kaniko.flavors.kaniko_image_builder_flavor import KanikoImageBuilderConfig
    from zenml.integrations.kubernetes.flavors.kubernetes_orchestrator_flavor import KubernetesOrchestratorConfig
    from zenml.integrations.mlflow.flavors.mlflow_experiment_tracker_flavor import MLFlowExperimentTrackerConfig
    from zenml.integrations.s3.flavors.s3_artifact_store_flavor import S3ArtifactStoreConfig

    return {
        ("orchestrator", "kubernetes"): KubernetesOrchestratorConfig,
        ("artifact-store", "s3"): S3ArtifactStoreConfig,
        ("container-registry", "default"): BaseContainerRegistryConfig,
        ("image-builder", "kaniko"): KanikoImageBuilderConfig,
        ("experiment-tracker", "mlflow"): MLFlowExperimentTrackerConfig,
    }[(group, flavor)]


def test_every_component_config_is_accepted_by_its_zenml_flavor():
    parsed = _parsed(register_commands(STACK, with_secrets=False))
    components = {k: v for k, v in parsed.items() if k[0] != "stack"}
    assert {k[0] for k in components} == {"orchestrator", "artifact-store", "container-registry",
                                          "image-builder", "experiment-tracker"}
    for (group, _, name), (flavor, extra) in components.items():
        config_class = _config_class(group, flavor)
        # the raw strings, as the CLI hands them over (ZenML's config models parse JSON strings themselves)
        assert unknown_fields(config_class, extra) == [], (group, name)
        # secret references ({{secret.key}}) are resolved by the server; stand-ins keep this offline
        offline = {k: "stand-in" if v.startswith("{{") else v for k, v in extra.items()}
        config_class.model_validate(offline)


def test_orchestrator_targets_context_namespace_and_least_privilege_accounts():
    parsed = _parsed(register_commands(STACK))
    flavor, extra = parsed[("orchestrator", "register", "rgd-k8s-orchestrator")]
    assert flavor == "kubernetes"
    assert extra == {"kubernetes_context": "kind-rgd", "kubernetes_namespace": "rgd",
                     "service_account_name": "rgd-orchestrator", "step_pod_service_account_name": "rgd-step"}


def test_artifact_store_image_builder_and_tracker_settings():
    parsed = _parsed(register_commands(STACK))
    _, store = parsed[("artifact-store", "register", "rgd-k8s-artifacts")]
    assert store["path"] == "s3://rgd-zenml/artifacts" and store["authentication_secret"] == "rgd_s3"
    assert json.loads(store["client_kwargs"]) == {"endpoint_url": "http://minio.example.com:9000"}
    _, kaniko = parsed[("image-builder", "register", "rgd-k8s-kaniko")]
    assert kaniko["kubernetes_namespace"] == "rgd" and kaniko["store_context_in_artifact_store"] == "True"
    assert json.loads(kaniko["volume_mounts"]) == [{"name": "registry-push", "mountPath": "/kaniko/.docker"}]
    _, tracker = parsed[("experiment-tracker", "register", "rgd-k8s-mlflow")]
    assert tracker["tracking_uri"] == "http://rgd-mlflow.rgd.svc.cluster.local:5000"
    assert tracker["tracking_password"] == "{{rgd_mlflow.password}}"
    name, stack_args = parsed[("stack", "register")]
    assert name == "rgd-k8s"
    assert stack_args == ["-o", "rgd-k8s-orchestrator", "-a", "rgd-k8s-artifacts", "-c", "rgd-k8s-registry",
                          "-i", "rgd-k8s-kaniko", "-e", "rgd-k8s-mlflow", "--set"]


def test_aws_s3_has_no_endpoint_and_namespace_flows_into_the_tracking_uri():
    stack = ClusterStack(kubernetes_context="prod", registry_uri="r.example.com/rgd", namespace="ml")
    parsed = _parsed(register_commands(stack, with_secrets=False))
    assert "client_kwargs" not in parsed[("artifact-store", "register", "rgd-k8s-artifacts")][1]
    tracker = parsed[("experiment-tracker", "register", "rgd-k8s-mlflow")][1]
    assert tracker["tracking_uri"] == "http://rgd-mlflow.ml.svc.cluster.local:5000"


def test_secret_values_come_from_the_environment_and_are_never_printed():
    commands = register_commands(STACK)
    secret = commands[0]
    shell = to_shell(secret)
    assert shell == ('zenml secret create rgd_s3 --aws_access_key_id="$AWS_ACCESS_KEY_ID" '
                     '--aws_secret_access_key="$AWS_SECRET_ACCESS_KEY"')
    environ = {"AWS_ACCESS_KEY_ID": "id-123", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    assert resolve(secret, environ)[-2:] == ["--aws_access_key_id=id-123", "--aws_secret_access_key=s3cr3t"]
    assert all("s3cr3t" not in to_shell(c) for c in commands)
    with pytest.raises(KeyError, match="AWS_SECRET_ACCESS_KEY is not set"):
        resolve(secret, {"AWS_ACCESS_KEY_ID": "id-123"})
    # the printed script is valid shell: every line splits back into the same words
    for command in commands[2:]:
        assert shlex.split(to_shell(command)) == command


def test_bad_stack_definitions_are_refused():
    with pytest.raises(ValueError, match="kubernetes_context"):
        ClusterStack(kubernetes_context="", registry_uri="r")
    with pytest.raises(ValueError, match="s3://"):
        ClusterStack(kubernetes_context="c", registry_uri="r", artifact_path="/local/path")
