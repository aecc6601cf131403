"""Torch's intra-op threads wait asleep in the gateway (``OMP_WAIT_POLICY=PASSIVE``), so two of them are safe.

By default OpenMP threads spin while they wait for work or for each other. On cores shared with the event loop,
upstream traffic or other pods, a spinning thread burns the time slice its partner needs: measured on 2 cores
with one of them busy, a 32-question MiniLM batch took 168 ms with 2 torch threads against 58 ms with 1. Asleep
instead, 2 threads took 56 ms there, and 44 ms against 53-57 when the second core was free; through the gateway
at 64 concurrent, 427-472 req/s against 399-438 with 1 thread (benchmarks/README.md, "Routing gateway", fix 9).
OpenMP reads the policy once, when torch loads it, so this must run before ``import torch``.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

VARIABLE = "OMP_WAIT_POLICY"


def passive_openmp() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already sets a policy (which is respected).
    True when the policy in force is passive; False, with a warning, when torch was imported before."""
    if "torch" in sys.modules and VARIABLE not in os.environ:
        log.warning("torch was imported before %s could be set: its threads spin while waiting", VARIABLE)
        return False
    os.environ.setdefault(VARIABLE, "PASSIVE")
    return os.environ[VARIABLE].upper() == "PASSIVE"
