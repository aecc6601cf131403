"""Resource quantities are parsed by the kubernetes client; a bad one is an error naming the value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rgd_k8s.checks import check_file
from rgd_k8s.quantity import parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500m", Decimal("0.5")), ("2", Decimal(2)), (4, Decimal(4)), ("1.5", Decimal("1.5")),
     ("4Gi", Decimal(4 * 2**30)), ("512Mi", Decimal(512 * 2**20)), ("1k", Decimal(1000)), ("2M", Decimal(2 * 10**6))],
)
def test_quantities(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["4GB", "lots", "", None])
def test_bad_quantity_names_the_value(bad):
    with pytest.raises(ValueError, match=r"is not a Kubernetes quantity \(examples: 500m"):
        parse_quantity(bad)


def test_a_bad_gpu_limit_is_reported_by_the_checks(mutated_config):
    def bad_gpus(data):
        step = data["steps"]["respond_llama_3_3_70b_instruct"]
        step["settings"]["orchestrator.kubernetes"]["pod_settings"]["resources"]["limits"]["nvidia.com/gpu"] = "four"

    messages = [str(p) for p in check_file(mutated_config(bad_gpus))]
    assert any("'four' is not a Kubernetes quantity" in m for m in messages), messages
