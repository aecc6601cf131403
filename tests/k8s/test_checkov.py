"""checkov on every rendered overlay: no failed check, and every skipped one carries its reason."""

from __future__ import annotations

import pytest

from rgd_k8s.checkov import check_overlay, checkov_command
from rgd_k8s.kustomize import kustomize_command, overlays

pytestmark = pytest.mark.skipif(
    kustomize_command() is None or checkov_command() is None,
    reason="checkov or kubectl absent (bash .ci/install_k8s_tools.sh installs both; checkov in .venv/checkov)",
)

OVERLAYS = {p.name: p for p in overlays()}


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_checkov_passes_on_the_rendered_overlay(name):
    report = check_overlay(OVERLAYS[name])
    assert report["failed"] == [], "\n".join(report["failed"])
    assert report["summary"]["passed"] > 100
    for check_id, resource, reason in report["skipped"]:
        assert len(reason.strip()) > 10, f"{check_id} on {resource} is skipped without a reason"
