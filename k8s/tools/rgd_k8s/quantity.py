"""Kubernetes resource quantities ("500m", "4Gi", "1.5") as numbers, to compare requests with limits.

The parsing is the kubernetes client's (``kubernetes.utils.parse_quantity``, from the ``pipeline`` extra,
imported at the first call like the other uses of the client here); this module only puts the bad value and
some examples in its error message.
"""

from __future__ import annotations

from decimal import Decimal


def parse_quantity(value: object) -> Decimal:
    """The quantity as a :class:`~decimal.Decimal` (``"500m"`` -> ``0.5``, ``"4Gi"`` -> ``4294967296``);
    raises ValueError naming the bad value."""
    from kubernetes.utils import parse_quantity as kubernetes_parse_quantity

    try:
        return kubernetes_parse_quantity(value)
    except (ValueError, TypeError, ArithmeticError):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 4Gi, 512Mi)") from None
