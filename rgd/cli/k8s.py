"""``rgd k8s check FILE_OR_DIR...``: the offline checks of ZenML Kubernetes run configs (``rgd_k8s.checks``).

``deploy`` imports ZenML and the Kubernetes client, so it is imported inside the command only.
"""

from __future__ import annotations

from pathlib import Path

import click

from rgd.cli.main import main


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

        import rgd_k8s.checks  # noqa: F401 - imports ZenML and the Kubernetes client: fail here, clearly
        from rgd_k8s.check import expand, run_checks
    except ImportError as exc:
        raise click.ClickException(
            f"the Kubernetes checks need ZenML, the Kubernetes client and kubernetes-validate ({exc}); "
            "pip install 'rgd-router[pipeline,k8s-tools]'"
        ) from None
    try:
        files = expand(paths)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if run_checks(files, click.echo):
        raise click.exceptions.Exit(1)
