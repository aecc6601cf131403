"""``rgd check``: a few labels that settle the label-free choice of a recorded pool's best model (opt-in)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rgd.cli.main import check_writable, main
from rgd.few_labels import DEFAULT_QUESTIONS


@main.command("check")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ask", "ask_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the questions to label here (CSV with an empty key column to fill in).")
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The filled-in file (CSV or JSONL: question_id, key): re-decide the top model with it.")
@click.option("-n", "--questions", type=click.IntRange(min=1), default=DEFAULT_QUESTIONS, show_default=True,
              help="At most this many questions are asked.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(data_dir: Path, ask_file: Path | None, labels_file: Path | None, questions: int, seed: int,
              as_json: bool) -> None:
    """Say whether a recorded pool's best model is identifiable without labels, and settle it with a few.

    First `rgd check DATA_DIR --ask to_label.csv`: the questions where the contenders answer differently.
    Fill in the key column, then `rgd check DATA_DIR --labels to_label.csv`. Label-free stays the default
    everywhere else; the keys given here are the user's own.
    """
    from rgd.workflow import check

    if (ask_file is None) == (labels_file is None):
        raise click.UsageError("give exactly one of --ask FILE (write the questions) or --labels FILE (settle)")
    if ask_file is not None:
        check_writable(ask_file, "--ask")
        report = check.ask(data_dir, ask_file, questions, seed)
        lines = [report["identifiability"]["sentence"],
                 f"Contenders: {', '.join(report['candidates'])}.",
                 f"Wrote {report['n_asked']} questions to {ask_file}: fill in the key column, then run "
                 f"rgd check {data_dir} --labels {ask_file}"]
    else:
        report = check.settle(data_dir, labels_file)
        counts = ", ".join(f"{m} {k}/{report['n_labels']}" for m, k in report["right_on_labels"].items())
        lines = [f"{report['sentence']} (right on the labels: {counts})."]
    click.echo(json.dumps(report, indent=1) if as_json else "\n".join(lines))
