"""``rgd pool add | remove | replace``: change a run's pool and train again, reusing everything that did not change.

The run is the one ``rgd run --config FILE`` makes, with the pool changed: ZenML's cache keys each step on its
inputs, so the generated questions and every model that stayed in the pool are taken from the cache (and the
answer journals under ``$RGD_HOME/checkpoints``); only an added model answers the stored questions, and the
filter, consensus, training, evaluation and registration run again. The new version is registered as a
challenger and the gate decides: the champion is measured again on the new version's questions with the new
pool (:mod:`rgd.tracking.pool_change`), so the two are compared without labels and without a hand promotion.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from rgd.cli.main import check_writable, main
from rgd.config.pool_edit import ADD, REMOVE, REPLACE, changed_pool, with_pool, with_pool_in_file
from rgd.errors import RGDError

config_option = click.option("--config", "config_path", required=True,
                             type=click.Path(dir_okay=False, exists=True, path_type=Path),
                             help="The run config whose pool changes (as for rgd run --config).")
save_option = click.option("--save", "save_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                           help="Also write the changed config here (every other key as it was), for the next runs.")
dry_option = click.option("--dry-run", is_flag=True, help="Print the new pool and stop (no run).")


@main.group("pool")
def pool_group() -> None:
    """Change the pool of a run config and train again: only an added model answers anew."""


def _change(config_path: Path, action: str, names: tuple[str, ...], save_path: Path | None, dry_run: bool) -> None:
    from rgd.cli.run import execute, prepare_environment

    if save_path is not None:
        check_writable(save_path, "--save")
    home = prepare_environment()
    from pipelines.launch import load
    from rgd.data.yaml_file import read_yaml
    from rgd.workflow.sources import source_for

    try:
        config, zenml_cfg = load(config_path)
        before = source_for(config).pool_model_names()
        after = changed_pool(before, action, names)
        changed = with_pool(config, after)
        source_for(changed).pool_model_names()  # a simulated world's pool refuses a name it does not have
    except (RGDError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"pool of {config.name!r}: {len(before)} -> {len(after)} models ({action} {' '.join(names)})")
    click.echo(f"  new pool: {', '.join(after)}")
    if save_path is not None:
        data = with_pool_in_file(read_yaml(config_path), config, after)
        save_path.write_text(yaml.safe_dump(data, sort_keys=False))
        click.echo(f"  changed config written to {save_path}")
    if dry_run:
        return
    execute(home, changed, zenml_cfg, config_path, no_cache=False)


@pool_group.command("add")
@click.argument("names", nargs=-1, required=True)
@config_option
@save_option
@dry_option
def add_cmd(names: tuple[str, ...], config_path: Path, save_path: Path | None, dry_run: bool) -> None:
    """Add NAMES to the pool: they answer the stored questions; the rest comes from the cache."""
    _change(config_path, ADD, names, save_path, dry_run)


@pool_group.command("remove")
@click.argument("names", nargs=-1, required=True)
@config_option
@save_option
@dry_option
def remove_cmd(names: tuple[str, ...], config_path: Path, save_path: Path | None, dry_run: bool) -> None:
    """Remove NAMES from the pool (retired models): nothing answers anew."""
    _change(config_path, REMOVE, names, save_path, dry_run)


@pool_group.command("replace")
@click.argument("old")
@click.argument("new")
@config_option
@save_option
@dry_option
def replace_cmd(old: str, new: str, config_path: Path, save_path: Path | None, dry_run: bool) -> None:
    """Replace OLD by NEW (e.g. a new release under a new name): only NEW answers anew."""
    _change(config_path, REPLACE, (old, new), save_path, dry_run)
