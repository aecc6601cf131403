"""The ZenML CLI commands that register the cluster stack for RGD.

Components: the Kubernetes orchestrator (context, namespace, the least-privilege service accounts of
k8s/base/rbac.yaml), an S3 artifact store (AWS S3 or the dev MinIO), a container registry, the Kaniko image
builder (builds step images inside the cluster, no local Docker needed) and the MLflow experiment tracker
pointing at the in-cluster tracking server. Credentials are never part of a command: ZenML secrets are
filled from environment variables at run time and components reference them as ``{{secret.key}}``.

``python -m rgd_k8s.stack --context CTX --registry REGISTRY [...]`` prints the commands;
``--apply`` runs them (needs a connected ZenML server: ``zenml login <server-url>``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvRef:
    """An argument value read from an environment variable when the command runs (never stored)."""

    variable: str
    prefix: str = ""  # e.g. "--password=": ZenML's CLI takes extra arguments as --key=value


@dataclass(frozen=True)
class ClusterStack:
    kubernetes_context: str
    registry_uri: str
    name: str = "rgd-k8s"
    namespace: str = "rgd"
    artifact_path: str = "s3://rgd-zenml/artifacts"
    s3_endpoint_url: str | None = None  # e.g. the dev MinIO; None for AWS S3
    mlflow_tracking_uri: str | None = None
    s3_secret: str = "rgd_s3"
    mlflow_secret: str = "rgd_mlflow"
    registry_push_secret: str = "rgd-registry-push"  # Kubernetes Secret (type dockerconfigjson) for Kaniko
    orchestrator_service_account: str = "rgd-orchestrator"
    step_service_account: str = "rgd-step"

    def __post_init__(self) -> None:
        for field in ("kubernetes_context", "registry_uri", "name", "namespace"):
            if not getattr(self, field):
                raise ValueError(f"ClusterStack.{field} must not be empty")
        if not self.artifact_path.startswith("s3://"):
            raise ValueError(f"artifact_path must be an s3:// URI, got {self.artifact_path!r}")

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"http://rgd-mlflow.{self.namespace}.svc.cluster.local:5000"

    def component(self, kind: str) -> str:
        return f"{self.name}-{kind}"


def secret_commands(stack: ClusterStack) -> list[list]:
    """ZenML secrets, filled from the environment of whoever runs them."""
    return [
        ["zenml", "secret", "create", stack.s3_secret,
         EnvRef("AWS_ACCESS_KEY_ID", "--aws_access_key_id="),
         EnvRef("AWS_SECRET_ACCESS_KEY", "--aws_secret_access_key=")],
        ["zenml", "secret", "create", stack.mlflow_secret,
         EnvRef("MLFLOW_TRACKING_USERNAME", "--username="),
         EnvRef("MLFLOW_TRACKING_PASSWORD", "--password=")],
    ]


def component_commands(stack: ClusterStack) -> list[list]:
    artifact_store = [
        "zenml", "artifact-store", "register", stack.component("artifacts"), "--flavor=s3",
        f"--path={stack.artifact_path}",
        f"--authentication_secret={stack.s3_secret}",
    ]
    if stack.s3_endpoint_url:
        artifact_store.append("--client_kwargs=" + json.dumps({"endpoint_url": stack.s3_endpoint_url}))
    kaniko_volumes = [{
        "name": "registry-push",
        "secret": {"secretName": stack.registry_push_secret,
                   "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
    }]
    kaniko_mounts = [{"name": "registry-push", "mountPath": "/kaniko/.docker"}]
    return [
        ["zenml", "orchestrator", "register", stack.component("orchestrator"), "--flavor=kubernetes",
         f"--kubernetes_context={stack.kubernetes_context}",
         f"--kubernetes_namespace={stack.namespace}",
         f"--service_account_name={stack.orchestrator_service_account}",
         f"--step_pod_service_account_name={stack.step_service_account}"],
        artifact_store,
        ["zenml", "container-registry", "register", stack.component("registry"), "--flavor=default",
         f"--uri={stack.registry_uri}"],
        ["zenml", "image-builder", "register", stack.component("kaniko"), "--flavor=kaniko",
         f"--kubernetes_context={stack.kubernetes_context}",
         f"--kubernetes_namespace={stack.namespace}",
         "--store_context_in_artifact_store=True",
         "--volumes=" + json.dumps(kaniko_volumes),
         "--volume_mounts=" + json.dumps(kaniko_mounts)],
        ["zenml", "experiment-tracker", "register", stack.component("mlflow"), "--flavor=mlflow",
         f"--tracking_uri={stack.tracking_uri}",
         f"--tracking_username={{{{{stack.mlflow_secret}.username}}}}",
         f"--tracking_password={{{{{stack.mlflow_secret}.password}}}}"],
        ["zenml", "stack", "register", stack.name,
         "-o", stack.component("orchestrator"),
         "-a", stack.component("artifacts"),
         "-c", stack.component("registry"),
         "-i", stack.component("kaniko"),
         "-e", stack.component("mlflow"),
         "--set"],
    ]


def register_commands(stack: ClusterStack, with_secrets: bool = True) -> list[list]:
    return (secret_commands(stack) if with_secrets else []) + component_commands(stack)


def to_shell(command: list) -> str:
    """One shell line; environment references stay ``"$VAR"`` so no value is ever printed."""
    return " ".join(
        (shlex.quote(part.prefix) if part.prefix else "") + f'"${part.variable}"' if isinstance(part, EnvRef)
        else shlex.quote(part)
        for part in command
    )


def resolve(command: list, environ: dict[str, str] | None = None) -> list[str]:
    """Argument list with environment references filled in; a missing variable is a clear error."""
    environ = os.environ if environ is None else environ
    out = []
    for part in command:
        if isinstance(part, EnvRef):
            if not environ.get(part.variable):
                raise KeyError(f"environment variable {part.variable} is not set (needed by: {to_shell(command)})")
            out.append(part.prefix + environ[part.variable])
        else:
            out.append(part)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rgd_k8s.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--context", required=True, help="kubectl context of the cluster")
    parser.add_argument("--registry", required=True, help="container registry URI, e.g. registry.example.com/rgd")
    parser.add_argument("--namespace", default="rgd")
    parser.add_argument("--name", default="rgd-k8s", help="stack name (components get it as prefix)")
    parser.add_argument("--artifact-path", default="s3://rgd-zenml/artifacts")
    parser.add_argument("--s3-endpoint-url", default=None, help="S3-compatible endpoint (MinIO); omit for AWS")
    parser.add_argument("--mlflow-tracking-uri", default=None)
    parser.add_argument("--no-secrets", action="store_true", help="skip `zenml secret create` (already there)")
    parser.add_argument("--apply", action="store_true", help="run the commands instead of printing them")
    args = parser.parse_args(argv)
    stack = ClusterStack(
        kubernetes_context=args.context, registry_uri=args.registry, name=args.name, namespace=args.namespace,
        artifact_path=args.artifact_path, s3_endpoint_url=args.s3_endpoint_url,
        mlflow_tracking_uri=args.mlflow_tracking_uri,
    )
    commands = register_commands(stack, with_secrets=not args.no_secrets)
    if not args.apply:
        print("\n".join(to_shell(c) for c in commands))
        return 0
    for command in commands:
        print("+", to_shell(command), flush=True)
        try:
            argv_resolved = resolve(command)
        except KeyError as err:
            print(f"error: {err.args[0]}", file=sys.stderr)
            return 2
        if subprocess.run(argv_resolved).returncode != 0:
            print(f"error: command failed: {to_shell(command)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
