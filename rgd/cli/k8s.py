"""``rgd k8s check FILE_OR_DIR...``: the offline checks of ZenML Kubernetes run configs (``deploy.checks``).

``deploy`` imports ZenML and the Kubernetes client, so it is imported inside the command only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from rgd.cli import main


def _expand(arguments: tuple[Path, ...]) -> list[Path]:
    """Files as given; directories become their ``*.yaml`` / ``*.yml`` files, recursively, sorted."""
    files: list[Path] = []
    for path in arguments:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
            if not found:
                raise click.ClickException(f"{path}: no .yaml/.yml files in this directory")
            files += found
        else:
            files.append(path)
    return files


@main.group("k8s")
def k8s_group() -> None:
    """Kubernetes helpers (offline): check run configs before submitting them to a cluster."""


@k8s_group.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def check_cmd(paths: tuple[Path, ...]) -> None:
    """Check ZenML Kubernetes run configs (files or directories of YAML files).

    Fails (exit status 1) on fields ZenML would ignore, pod settings that are not valid Kubernetes 1.32
    objects, GPU steps without an nvidia.com/gpu limit (or GPUs on CPU steps), and secrets in plain text.
    """
    try:
        import kubernetes_validate  # noqa: F401 - the strict Kubernetes schemas the checks validate against

        from deploy.checks import check_file
    except ImportError as exc:
        raise click.ClickException(
            f"the Kubernetes checks need ZenML, the Kubernetes client and kubernetes-validate ({exc}); "
            "pip install 'rgd-router[pipeline,k8s-tools]'"
        ) from None
    # ZenML's own warnings about the same fields would only repeat the messages below
    logging.getLogger("zenml").setLevel(logging.ERROR)
    failed = 0
    for path in _expand(paths):
        problems = check_file(path)
        if problems:
            failed += 1
            for problem in problems:
                click.echo(f"ERROR {problem}")
        else:
            click.echo(f"OK    {path}")
    if failed:
        raise click.exceptions.Exit(1)
