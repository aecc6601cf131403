"""``rgd evaluate-recorded``: train every router on a recorded pool and evaluate it on the test split."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rgd.cli.main import check_writable, main
from rgd.config.run_config import ConsensusSpec, EmbedderSpec, RunConfig
from rgd.data.versioned_json import write_text_atomic
from rgd.embedding.registry import EMBEDDER_KIND_NAMES
from rgd.evaluation.label_noise import NOISE_KINDS
from rgd.home import embedding_cache_dir

# the run config's defaults (one set for rgd run and evaluate-recorded): the embedder, the seed, the consensus
DEFAULT_EMBEDDER = EmbedderSpec().kind
DEFAULT_SEED = RunConfig.model_fields["seed"].default
DEFAULT_CONSENSUS = ConsensusSpec()
VOTER_SCOPES = ConsensusSpec.model_fields["voter_scope"].annotation.__args__


def _voters(text: str | None) -> int | float | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(f"expected a count or a share of the pool, got {text!r}", param_hint="--voters") from None


def _params(pairs: tuple[str, ...]) -> dict:
    """NAME=VALUE pairs; values are read as YAML scalars (numbers, booleans, strings)."""
    from rgd.data.yaml_file import safe_load_unique

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--cascal")
        out[name.strip()] = safe_load_unique(value)
    return out


#: the options a run config decides (with DATA_DIR): not given beside --config
CONFIG_DECIDES = {"embedder": "--embedder", "seed": "--seed", "voters": "--voters", "voter_scope": "--voter-scope",
                  "cascal_params": "--cascal", "costs": "--costs"}


def _config_arguments(config_path: Path, data_dir: Path | None) -> dict:
    """run_recorded's arguments from a recorded run config, read as ``rgd run`` reads it (its data paths
    against the repository root): the directory and its models, costs, embedder, consensus, router and
    baselines, seed."""
    from pipelines.launch import load  # the run-file loader of rgd run (no ZenML import)
    from rgd.data.recorded import load_recorded

    ctx = click.get_current_context()
    given = [flag for name, flag in CONFIG_DECIDES.items()
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if data_dir is not None or given:
        raise click.UsageError(f"--config decides {', '.join(['DATA_DIR'] * (data_dir is not None) + given)}: give "
                               "them in the run config, or leave out --config")
    config, _ = load(config_path)
    if config.pipeline != "recorded" or config.recorded is None:
        raise click.UsageError(f"--config: {config_path} is a {config.pipeline} pipeline config; evaluate-recorded "
                               "runs the recorded pipeline (pipeline: recorded, recorded: {dir: ...})")
    return {"data": load_recorded(config.recorded.dir, config.recorded.models), "embedder": config.embedder,
            "seed": config.seed, "consensus_params": config.consensus.model_dump(),
            "routers": (config.router.name, *config.router.baselines),
            "router_params": {config.router.name: config.router.params}, "costs": config.recorded.costs,
            "primary": config.router.name}


@main.command("evaluate-recorded")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A recorded run config (pipeline: recorded), read as rgd run reads it: its directory, costs, "
                   "embedder, consensus, router, baselines and seed; DATA_DIR and the options they decide are "
                   "then not given. The report is the one rgd run --config FILE logs as evaluation.json.")
@click.option("--embedder", type=click.Choice(EMBEDDER_KIND_NAMES), default=DEFAULT_EMBEDDER, show_default=True,
              help="The embedder (default: the run config's, as for rgd run; minilm for the MiniLM numbers of "
                   "benchmarks/README.md).")
@click.option("--label-noise", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Probability of replacing each training key by a wrong option (query-answer routers only).")
@click.option("--noise-kind", type=click.Choice(NOISE_KINDS), default="plausible", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Embedding cache (default: $RGD_HOME/cache/embeddings).")
@click.option("--voters", type=str, default=None,
              help="Only the strongest models vote in the consensus: a count (5) or a share of the pool (0.4). "
                   "Default: every model votes.")
@click.option("--voter-scope", type=click.Choice(VOTER_SCOPES), default=DEFAULT_CONSENSUS.voter_scope,
              show_default=True,
              help="Choose the voters once for the pool, or per subject.")
@click.option("--cascal", "cascal_params", multiple=True, metavar="NAME=VALUE",
              help="A CASCAL parameter, e.g. --cascal n_nearest=1 (repeatable).")
@click.option("--keys-from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Training keys from a responses-format file (a generator's answers; null: no key). The "
                   "label-using baselines learn from them; default: the train split's true keys, as a reference.")
@click.option("--costs", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per-model costs (JSON): {model: cost} or the models.json shape (active_params_b). Adds the "
                   "cost-accuracy curve over the cost weight, AIQ and the routers' calibration to the output.")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --costs: draw the cost-accuracy plot (cost_accuracy.png) into this directory.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def evaluate_recorded(
    data_dir, config_path, embedder, label_noise, noise_kind, seed, cache_dir, voters, voter_scope, cascal_params,
    keys_from, costs, plots, output
) -> None:
    """Train routers on a recorded pool's train split (DATA_DIR: the product's router, CASCAL and every
    baseline; --config FILE: the run config's router and baselines) and write the recorded pipeline's evaluation
    report (rgd run, pipeline: recorded) as JSON, with a "run" block."""
    from rgd.workflow.recorded import embed_with, run_recorded

    if config_path is None and data_dir is None:
        raise click.UsageError("give DATA_DIR (a recorded-responses directory) or --config FILE (a recorded run "
                               "config)")
    check_writable(output, "--output")
    cache = cache_dir or embedding_cache_dir()
    # the library's errors are caught once, by the command group
    if config_path is not None:
        args = _config_arguments(config_path, data_dir)
        spec = args.pop("embedder")
        args.update(embed=embed_with(spec.kind, cache, **spec.params), embedder_name=spec.kind)
    else:
        args = {"data": data_dir, "embed": embed_with(embedder, cache), "seed": seed, "embedder_name": embedder,
                "consensus_params": ConsensusSpec(n_voters=_voters(voters), voter_scope=voter_scope).model_dump(),
                "router_params": {"cascal": _params(cascal_params)}, "costs": costs}
    report = run_recorded(label_noise=label_noise, noise_kind=noise_kind, keys_from=keys_from, **args)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, json.dumps(report, indent=1))
    click.echo(f"{'router':<14}{'top-1':>8}{'top-3 vote':>12}{'est. top-1':>12}{'est. top-3':>12}")
    estimates = report.get("estimate", {}).get("routers", {})
    for name, r in report["routers"].items():
        est = estimates.get(name)
        est_cols = f"{est['top1']:>12.4f}{est['top3_vote']:>12.4f}" if est else f"{'-':>12}{'-':>12}"
        click.echo(f"{name:<14}{r['top1']:>8.4f}{r['top3_vote']:>12.4f}{est_cols}")
    cost = report.get("cost")
    if cost and plots is not None:
        from rgd.evaluation.cost_plot import write_cost_plot

        for path in write_cost_plot(cost, plots).values():
            click.echo(f"wrote {path}")
    if cost:
        from rgd.evaluation.cost_curve import describe_cost_curve

        click.echo(describe_cost_curve(cost["cost_curve"]))
    click.echo(f"wrote {output}")
