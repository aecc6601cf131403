"""The ``rgd`` command line. Each sub-command lives in its own module and registers itself on ``main``.

Commands that need ZenML, MLflow or Kubernetes import them inside the command, so the core stays light.
"""

from __future__ import annotations

import logging

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Annotation-free LLM routing: train routers on generated data, version and serve them."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    # one import per command module; each module adds its commands to ``main``
    from rgd.cli import evaluate_recorded  # noqa: F401
    from rgd.cli import k8s  # noqa: F401
    from rgd.cli import models  # noqa: F401
    from rgd.cli import run  # noqa: F401


_register()
