"""``rgd check``: a few labels that settle the label-free choice of a recorded pool's router (opt-in)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from rgd.cli.evaluate_recorded import DEFAULT_EMBEDDER
from rgd.cli.main import check_writable, main
from rgd.embedding.registry import EMBEDDER_KIND_NAMES
from rgd.few_labels import DEFAULT_QUESTIONS


@main.command("check")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A recorded run config (pipeline: recorded), read as rgd run reads it: the router is fitted "
                   "with its pool, embedder, router parameters and seed. DATA_DIR and --embedder are then not given.")
@click.option("--ask", "ask_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the questions to label here (CSV with an empty key column to fill in).")
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The filled-in file (CSV or JSONL: question_id, key): re-decide the top model with it.")
@click.option("-n", "--questions", type=click.IntRange(min=1), default=DEFAULT_QUESTIONS, show_default=True,
              help="At most this many questions are asked.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="The draw of the questions asked among those where the contenders differ.")
@click.option("--embedder", type=click.Choice(EMBEDDER_KIND_NAMES), default=DEFAULT_EMBEDDER, show_default=True,
              help="The embedder the router is fitted with (as in the run config; give the same to --ask and "
                   "--labels). Embeddings are cached.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(data_dir: Path | None, config_path: Path | None, ask_file: Path | None, labels_file: Path | None,
              questions: int, seed: int, embedder: str, as_json: bool) -> None:
    """Say whether the router's choice on a recorded pool is identifiable without labels, and settle it with a few.

    The router is fitted on the train split as `rgd run` fits it (the keys hidden; its defaults, or those of the
    run config given with --config). Its choice is the pool's best model, or, where it routes per subject or
    skill cluster, that routing, tested against the pool-wide leader (or the models in doubt where it copies).

    First `rgd check DATA_DIR --ask to_label.csv`: the questions where the contenders answer differently. Fill in
    the key column, then `rgd check DATA_DIR --labels to_label.csv`. Label-free stays the default everywhere
    else; the keys given here are the user's own.
    """
    from rgd.home import embedding_cache_dir
    from rgd.workflow import check

    if (ask_file is None) == (labels_file is None):
        raise click.UsageError("give exactly one of --ask FILE (write the questions) or --labels FILE (settle)")
    embedder_given = click.get_current_context().get_parameter_source("embedder") is not \
        click.core.ParameterSource.DEFAULT
    if config_path is not None:
        if data_dir is not None or embedder_given:
            raise click.UsageError("--config decides the pool and the embedder: give DATA_DIR and --embedder "
                                   "without it, or the run config alone")
        from pipelines.launch import load  # the run-file loader of rgd run (no ZenML import)

        config, _ = load(config_path)
        data, fit = check.from_config(config, embedding_cache_dir())
        source, pool, embedder = ["--config", str(config_path)], config.recorded.dir, config.embedder.kind
    elif data_dir is None:
        raise click.UsageError("give the recorded pool: DATA_DIR, or --config FILE (a recorded run config)")
    else:
        data, fit = data_dir, check.RouterFit(check.embed_train(embedder, embedding_cache_dir()))
        source, pool = [str(data_dir), *(["--embedder", embedder] if embedder_given else [])], data_dir
    click.echo(f"Fitting the router on the train split of {pool} ({embedder} embeddings, cached) ...", err=True)
    if ask_file is not None:
        check_writable(ask_file, "--ask")
        report = check.ask(data, ask_file, questions, seed, fit)
        lines = [report["identifiability"]["sentence"], f"Contenders: {', '.join(report['candidates'])}."]
        if report["n_asked"]:
            again = shlex.join(["rgd", "check", *source, "--labels", str(ask_file)])
            lines.append(f"Wrote {report['n_asked']} questions to {ask_file}: fill in the key column, then run {again}")
        else:
            lines.append("They give the same answer to every train question: no label can tell them apart, so "
                         f"none is asked ({ask_file} has the header only).")
    else:
        report = check.settle(data, labels_file, fit)
        counts = ", ".join(f"{m} {k}/{report['n_labels']}" for m, k in report["right_on_labels"].items())
        lines = [f"{report['sentence']} (right on the labels: {counts})."]
    click.echo(json.dumps(report, indent=1) if as_json else "\n".join(lines))
