from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from tests.paths import REPO_ROOT

K8S_CONFIGS = sorted((REPO_ROOT / "configs" / "k8s").glob("*.yaml"))
MMLU_PRO_VLLM = REPO_ROOT / "configs" / "k8s" / "mmlu_pro_vllm.yaml"


@pytest.fixture(autouse=True)
def _quiet_zenml():
    logging.getLogger("zenml").setLevel(logging.ERROR)


@pytest.fixture
def mutated_config(tmp_path):
    """Write a changed copy of a config: ``mutated_config(change)`` where ``change(data)`` edits a plain
    dict (YAML anchors expanded, so editing one step never leaks into another)."""

    def make(change, source: Path = MMLU_PRO_VLLM) -> Path:
        data = json.loads(json.dumps(yaml.safe_load(source.read_text())))
        change(data)
        path = tmp_path / f"changed_{source.name}"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make
