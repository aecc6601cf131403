"""Torch's intra-op threads wait asleep in the gateway (``OMP_WAIT_POLICY=PASSIVE``), so two of them are safe.

By default OpenMP threads spin while they wait for work or for each other. On cores shared with the event loop,
upstream traffic or other pods, a spinning thread burns the time slice its partner needs: measured on 2 cores
with one of them busy, a 32-question MiniLM batch took 168 ms with 2 torch threads against 58 ms with 1. Asleep
instead, 2 threads took 56 ms there, and 44 ms against 53-57 when the second core was free; through the gateway
at 64 concurrent, 427-472 req/s against 399-438 with 1 thread (benchmarks/README.md, "Routing gateway", fix 9).
OpenMP reads the policy once, when torch loads it, so this must run before ``import torch``.

NumPy's BLAS gets one thread too (:func:`one_blas_thread`): the gateway's products are small (a batch of questions
against a router's centroids or its coverage's training questions), and a second BLAS thread on busy shared cores
only waits for a core. The coverage check of 16 MiniLM questions against 120 training ones took 1.6 ms with
OpenBLAS's default 2 threads at load average 6, and 0.11 ms with one (benchmarks/README.md, "Side by side").
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


def one_blas_thread() -> None:
    """Limit the BLAS libraries loaded now (NumPy's and SciPy's OpenBLAS) to one thread, for the whole process:
    called once a router version has loaded (every library it needs is then loaded). Torch's intra-op threads
    are not BLAS threads and keep ``routing.embedder_threads``."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
