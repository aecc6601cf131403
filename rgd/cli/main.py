"""The ``rgd`` command group; each sub-command lives in a module of its own and registers itself on ``main``.

Commands that need ZenML, MLflow or Kubernetes import them inside the command, so the core stays light. The
library's errors (:class:`rgd.errors.RGDError`: bad data, parameters, artifacts) are caught here, once, and
printed as one line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from rgd.errors import RGDError


class _Main(click.Group):
    """The command group: a library error in any command becomes a one-line ``Error: ...`` (exit 1)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RGDError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Annotation-free LLM routing: train routers on generated data, version and serve them."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def check_writable(path: Path, option: str) -> None:
    """Fail before any work when ``path`` cannot be written (a directory, a folder that cannot be made, a file
    that cannot be opened for writing: read-only, a name too long, a read-only file system). The file is opened
    to append, which changes nothing; one this made is removed again."""
    path = Path(path)
    if os.path.isdir(path):
        raise click.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(f"cannot create {parent} ({exc.strerror})", param_hint=option) from None
    if not os.access(parent, os.W_OK):
        raise click.BadParameter(f"{parent} is not writable", param_hint=option)
    existed = os.path.lexists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot write {path} ({exc.strerror})", param_hint=option) from None
    if not existed:
        path.unlink(missing_ok=True)
