"""Checkov (Kubernetes policy checks) on the rendered overlays: 0 failed, every skip with a reason.

checkov pins ``packaging<24`` and so cannot share the project's environment (pytest needs a newer one):
``.ci/install_k8s_tools.sh`` installs it into its own venv, ``.venv/checkov``. A check that cannot apply is
skipped in the manifest itself with checkov's annotation and a one-line reason
(``checkov.io/skip1: CKV_K8S_43=<why>``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rgd_k8s.kustomize import REPO_ROOT, kustomize_command

CHECKOV_VERSION = "3.3.30"


def checkov_command() -> str | None:
    """The checkov executable: next to this Python, in ``.venv/checkov``, or on PATH; None when absent."""
    for candidate in (Path(sys.executable).parent / "checkov", REPO_ROOT / ".venv" / "checkov" / "bin" / "checkov"):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("checkov")


def check_overlay(directory: Path) -> dict[str, Any]:
    """checkov's summary and its failed/skipped checks for the objects ``directory`` renders to."""
    kustomize, checkov = kustomize_command(), checkov_command()
    if kustomize is None or checkov is None:
        raise RuntimeError("kustomize (kubectl) or checkov is missing: bash .ci/install_k8s_tools.sh")
    rendered = subprocess.run(kustomize + [str(directory)], capture_output=True, text=True, timeout=120, check=True)
    with tempfile.TemporaryDirectory(prefix="rgd-checkov-") as tmp:
        path = Path(tmp) / f"{directory.name}.yaml"
        path.write_text(rendered.stdout)
        proc = subprocess.run([checkov, "-f", str(path), "--framework", "kubernetes", "-o", "json", "--quiet",
                               "--compact", "--skip-download"], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov gave no JSON report (exit {proc.returncode}): {proc.stderr[-2000:]}") from None
    report = report[0] if isinstance(report, list) else report
    results = report.get("results", {})
    return {
        "summary": report["summary"],
        "failed": [f"{r['check_id']} {r['resource']}: {r['check_name']}" for r in results.get("failed_checks", [])],
        "skipped": [(r["check_id"], r["resource"], (r.get("check_result") or {}).get("suppress_comment", ""))
                    for r in results.get("skipped_checks", [])],
    }
