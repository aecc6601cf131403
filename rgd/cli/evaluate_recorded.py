"""``rgd evaluate-recorded``: train every router on a recorded pool and evaluate it on the test split."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from rgd.cli import main
from rgd.errors import RGDError
from rgd.label_noise import NOISE_KINDS


def rgd_home() -> Path:
    return Path(os.environ.get("RGD_HOME", ".rgd"))


@main.command("evaluate-recorded")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--embedder", type=click.Choice(["tfidf", "minilm"]), default="minilm", show_default=True)
@click.option("--label-noise", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Probability of replacing each training key by a wrong option (query-answer routers only).")
@click.option("--noise-kind", type=click.Choice(NOISE_KINDS), default="plausible", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Embedding cache (default: $RGD_HOME/cache/embeddings).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def evaluate_recorded(data_dir, embedder, label_noise, noise_kind, seed, cache_dir, output) -> None:
    """Train CASCAL and every baseline on DATA_DIR's train split; write test accuracies as JSON."""
    from rgd.experiment import embed_with, run_recorded

    cache = cache_dir or rgd_home() / "cache" / "embeddings"
    try:
        report = run_recorded(
            data_dir,
            embed_with(embedder, cache),
            label_noise=label_noise,
            noise_kind=noise_kind,
            seed=seed,
            embedder_name=embedder,
        )
    except RGDError as exc:
        raise click.ClickException(str(exc)) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1))
    click.echo(f"{'router':<14}{'top-1':>8}{'top-3 vote':>12}")
    for name, r in report["routers"].items():
        click.echo(f"{name:<14}{r['top1']:>8.4f}{r['top3_vote']:>12.4f}")
    click.echo(f"wrote {output}")
