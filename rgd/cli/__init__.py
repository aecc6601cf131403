"""The ``rgd`` command line: the group in :mod:`rgd.cli.main`, one module per family of commands.

The only part of ``rgd`` that may import the adapters (``pipelines``, ``steps``, ``rgd_k8s``), always lazily.
"""

from rgd.cli import check, demo, evaluate_recorded, k8s, models, pool, run, serve  # noqa: F401 - each adds its commands to ``main``
from rgd.cli.main import main

__all__ = ["main"]
