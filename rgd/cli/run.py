"""``rgd run``, ``rgd lineage`` and ``rgd schedule``: the ZenML side of the command line.

ZenML keeps its config and local store under ``$RGD_HOME/zenml`` (``./.rgd`` by default): the environment
variables are set before ZenML is first imported, so no global ZenML state is touched.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import click

from rgd.cli.main import main
from rgd.config.aliases import DEFAULT_MODEL_NAME
from rgd.errors import RGDError
from rgd.home import rgd_home
from rgd.simulated.presets import PRESET_ORDER


def prepare_environment(home: str | Path | None = None) -> Path:
    """Point ZenML and MLflow at ``$RGD_HOME`` (set before ZenML is imported); returns RGD_HOME."""
    home = rgd_home(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["RGD_HOME"] = str(home)
    zdir = home / "zenml"
    os.environ.setdefault("ZENML_CONFIG_PATH", str(zdir))
    os.environ.setdefault("ZENML_LOCAL_STORES_PATH", str(zdir / "local_stores"))
    os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("AUTO_OPEN_DASHBOARD", "false")
    os.environ.setdefault("ZENML_ENABLE_RICH_TRACEBACK", "false")
    return home


def _output(run, step: str, name: str):
    outs = run.steps[step].outputs.get(name) or []
    return outs[0].load() if outs else None


def _report(run, home: Path, seconds: float) -> None:
    from steps import names

    evaluation = _output(run, names.EVALUATE_STEP, "evaluation")
    registration = _output(run, names.REGISTER_STEP, "registration")
    click.echo(f"\nZenML run {run.name} ({run.status}) in {seconds:.0f}s")
    if names.FILTER_STEP in run.steps:
        report = _output(run, names.FILTER_STEP, "filter_report")
        click.echo(f"generated {report['n_input']} questions, kept {report['n_kept']} after filtering "
                   f"(dropped: {report['failures']})")
    if evaluation and evaluation.get("routers"):
        click.echo(f"\ntest set: {evaluation['n_test']} labelled questions ({evaluation['test_set_id']})")
        click.echo(f"{'router':<14}{'top-1':>8}{'top-3 vote':>12}")
        for name, r in evaluation["routers"].items():
            mark = "  <- registered" if name == evaluation["primary"] else ""
            click.echo(f"{name:<14}{r['top1']:>8.4f}{r['top3_vote']:>12.4f}{mark}")
    estimate = (evaluation or {}).get("estimate")
    if estimate:
        where = "test questions, keys hidden" if estimate.get("on") == "test" else "held-out generated questions"
        click.echo(f"\nlabel-free estimate on {estimate['n_questions']} {where} ({estimate['set_id']}; no answer "
                   "key read)")
        click.echo(f"{'router':<14}{'est. top-1':>11}{'interval':>15}{'est. top-3':>11}")
        for name, r in estimate["routers"].items():
            mark = "  <- registered" if name == evaluation["primary"] else ""
            span = f"{r['top1_low']:.3f}-{r['top1_high']:.3f}" if "top1_low" in r else "-"
            click.echo(f"{name:<14}{r['top1']:>11.4f}{span:>15}{r['top3_vote']:>11.4f}{mark}")
        primary = estimate["routers"].get(evaluation["primary"])
        if primary:
            from rgd.evaluation.estimate import level_sentence

            click.echo(level_sentence(primary))
    cost = (evaluation or {}).get("cost")
    if cost:
        from rgd.evaluation.cost_curve import describe_cost_curve

        click.echo(f"\n{describe_cost_curve(cost['cost_curve'])} (plot: plots/cost_accuracy.png in MLflow)")
    if registration:
        status = "promoted to champion" if registration["promoted"] else "stays challenger"
        click.echo(f"\nregistered {registration['model_name']} version {registration['version']}: {status}")
        click.echo(f"  {registration['reason']}")
        if registration.get("identifiability"):
            click.echo(f"  {registration['identifiability']}")
        if registration.get("pool_change"):
            click.echo(f"  {registration['pool_change']}")
    from rgd.tracking import tracking_uri

    click.echo("\nwhere to look:")
    click.echo(f"  {where_to_look(registration)}")
    click.echo(f"  ZenML dashboard:  ZENML_CONFIG_PATH={os.environ['ZENML_CONFIG_PATH']} zenml login --local")
    click.echo(f"  MLflow UI:        mlflow ui --backend-store-uri {tracking_uri(home)}")


def where_to_look(registration: dict | None) -> str:
    """The commands that show the registered router (``--name`` where its model name is not the default)."""
    name_opt = "" if not registration or registration["model_name"] == DEFAULT_MODEL_NAME else \
        f" --name {shlex.quote(registration['model_name'])}"
    version = registration["version"] if registration else "N"
    return f"rgd models{name_opt}; rgd lineage --version {version}{name_opt}"


@main.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Run config YAML (default: the embedded default, a simulated world).")
@click.option("--generator", type=click.Choice(PRESET_ORDER), default=None,
              help="Replace the simulated generator by this preset (e.g. weak: a run that should stay challenger).")
@click.option("--no-cache", is_flag=True, help="Run every step again even where inputs are unchanged, and reuse "
              "no saved answers or generated questions (checkpoints are rewritten).")
def run_cmd(config_path: Path | None, generator: str | None, no_cache: bool) -> None:
    """Run the RGD pipeline (train, evaluate, register, promote) and print a short report."""
    home = prepare_environment()
    from pipelines.launch import load

    try:
        config, zenml_cfg = load(config_path, generator)
    except (RGDError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    execute(home, config, zenml_cfg, config_path, no_cache)


def execute(home: Path, config, zenml_cfg: dict, config_path: Path | None, no_cache: bool) -> None:
    """Preflight, run and report one pipeline run of ``config`` (``rgd run``, ``rgd pool``)."""
    from pipelines.launch import build_pipeline, failed_steps, failure_details, failure_summary, preflight

    try:
        preflight(config)
    except (RGDError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if no_cache:
        zenml_cfg = {**zenml_cfg, "enable_cache": False}
        config = config.without_reuse()
    pipe = build_pipeline(config, zenml_cfg, config_path)
    from pipelines.stale_runs import active_run  # one store init at a time; runs a killed `rgd run` left: failed

    for stale in click.get_current_context().with_resource(active_run(home)):
        click.echo(f"marked pipeline run {stale} failed: the `rgd run` that ran it was killed", err=True)
    if config.is_label_free:
        click.echo(f"warning: no test_set: this run is label-free end to end: every router is evaluated by its "
                   f"label-free estimate on {config.evaluation.holdout_fraction:.0%} held-out generated questions "
                   f"and promoted on {config.promotion_metric}", err=True)
    click.echo(f"running {config.name!r} ({config.pipeline} pipeline); state under {home}")
    t0 = time.perf_counter()
    try:
        run = pipe(config=config)
    except Exception as exc:  # noqa: BLE001 - turn any step failure into one clear message
        cause, transient = failure_summary(exc)
        details = failure_details(exc)
        steps = failed_steps(pipe.name)
        if steps:  # the orchestrator's "failure in step(s)" hides the cause: take it from the run's records
            cause = "; ".join(line for line, _, _ in steps)
            transient = any(t for _, t, _ in steps)
            details = next((d for _, _, d in steps if d), "")
        cause = f"{cause}\n{details}" if details else cause
        advice = ("This looks transient. Rerun the same command to resume: unchanged steps are taken from the "
                  f"cache and the answers given so far are kept in {home / 'checkpoints'}." if transient else
                  "Fix the cause and run again: rerunning unchanged would fail the same way.")
        raise click.ClickException(f"the pipeline failed: {cause}\n{advice}") from None
    if run is None:  # a remote orchestrator that returned before running
        click.echo("submitted")
        return
    from zenml.client import Client

    _report(Client().get_pipeline_run(run.id), home, time.perf_counter() - t0)


@main.command("lineage")
@click.option("--version", "version", default=None, help="A registered router version.")
@click.option("--generator", default=None, help="A generator name: list every router trained on its data.")
@click.option("--name", "model_name", default=None, help=f"Registered model name (default: {DEFAULT_MODEL_NAME}), "
              "as in rgd models / promote / route.")
@click.option("--model-name", "old_model_name", default=None, hidden=True,
              help="Deprecated spelling of --name.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def lineage_cmd(version: str | None, generator: str | None, model_name: str | None, old_model_name: str | None,
                as_json: bool) -> None:
    """Which generator, data, filter, pool, embedder and ZenML run produced a router (from ZenML and MLflow)."""
    if old_model_name is not None:
        if model_name is not None and model_name != old_model_name:
            raise click.UsageError("give the model name once: --name (--model-name is its deprecated spelling)")
        click.echo("warning: --model-name is deprecated; use --name", err=True)
        model_name = old_model_name
    model_name = model_name or DEFAULT_MODEL_NAME
    if (version is None) == (generator is None):
        raise click.UsageError("give exactly one of --version N or --generator NAME")
    prepare_environment()
    from pipelines import lineage

    try:
        result = (lineage.router_lineage(model_name, version) if version is not None
                  else lineage.generator_lineage(model_name, generator))
    except (RGDError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, indent=1, default=str))
    elif version is not None:
        click.echo(lineage.format_router(result))
    else:
        click.echo(lineage.format_generator(result))


@main.command("schedule")
@click.option("--cron", default=None, help='Cron expression, e.g. "0 3 * * 1".')
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--name", default=None, help="Schedule name (default: rgd-<config name>).")
@click.option("--list", "list_", is_flag=True, help="List the schedules.")
@click.option("--delete", default=None, metavar="NAME", help="Delete a schedule.")
def schedule_cmd(cron, config_path, name, list_, delete) -> None:
    """Schedule the pipeline: a ZenML Schedule (CronJob) on a Kubernetes stack, else the local cron line."""
    prepare_environment()
    from pipelines import scheduling

    try:
        if list_:
            rows = scheduling.list_schedules()
            if not rows:
                click.echo("no schedules")
            for r in rows:
                click.echo(f"{r['name']:<30}{r['cron_expression'] or '-':<18}{'active' if r['active'] else 'paused'}"
                           f"  {r['pipeline'] or ''}")
            return
        if delete:
            scheduling.delete_schedule(delete)
            click.echo(f"deleted schedule {delete}")
            return
        if not cron or not config_path:
            raise click.UsageError("give --cron and --config (or --list / --delete NAME)")
        click.echo(scheduling.create_schedule(cron, config_path, name))
    except (RGDError, ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
