"""``rgd models``, ``rgd promote`` and ``rgd route``: the MLflow Model Registry from the command line.

They read the tracking store ``configure_mlflow`` resolves: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``,
else the local SQLite store under ``$RGD_HOME`` (``./.rgd``). MLflow is imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import click

from rgd.cli.main import check_writable, main
from rgd.config.aliases import CHAMPION, DEFAULT_MODEL_NAME

_BATCH = 256

name_option = click.option("--name", default=DEFAULT_MODEL_NAME, show_default=True, help="Registered model name.")
uri_option = click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or the local store)."
)


def _configure(tracking_uri: str | None) -> str:
    from rgd.tracking.config import configure_mlflow

    try:
        return configure_mlflow(tracking_uri)
    except ImportError as exc:  # pragma: no cover - the pipeline extra is missing
        raise click.ClickException(f"MLflow is not installed ({exc}); pip install 'rgd-router[pipeline]'") from None


def _fail_nothing_registered(name: str) -> click.ClickException:
    return click.ClickException(f"no router registered as {name!r} yet: run `rgd run` first")


def _complete(tags: dict[str, str]) -> bool:
    from types import SimpleNamespace

    from rgd.tracking.promotion import is_complete

    return is_complete(SimpleNamespace(tags=tags))


def _fmt_metric(metrics: dict[str, float], key: str) -> str:
    v = metrics.get(key)
    return "-" if v is None else f"{v:.3f}"


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
@name_option
@uri_option
def models_cmd(as_json: bool, name: str, tracking_uri: str | None) -> None:
    """List registered router versions with their aliases, metrics and lineage."""
    _configure(tracking_uri)
    from rgd.tracking.listing import NoRegisteredModelError, list_versions

    try:
        rows = list_versions(name)
    except NoRegisteredModelError:
        raise _fail_nothing_registered(name) from None
    if as_json:
        click.echo(json.dumps(rows, indent=1, sort_keys=True))
        return
    header = f"{'version':>7}  {'aliases':<20} {'top1':>6} {'top3':>6}  {'test set':<24} {'generator':<20} decision"
    click.echo(f"{name}")
    click.echo(header)
    for r in rows:
        tags = r["tags"]
        click.echo(
            f"{r['version']:>7}  {','.join(r['aliases']) or '-':<20} {_fmt_metric(r['metrics'], 'top1'):>6} "
            f"{_fmt_metric(r['metrics'], 'top3_vote'):>6}  {tags.get('test_set_id', '-'):<24} "
            f"{tags.get('generators', tags.get('generator', '-')):<20} "
            f"{tags.get('promotion.decision', '-') if _complete(tags) else 'incomplete (never promoted)'}"
        )


@main.command("promote")
@click.argument("version", required=False)
@click.option("--alias", default=CHAMPION, show_default=True, help="Alias to point at VERSION.")
@click.option("--rollback", "do_rollback", is_flag=True, help="Give champion back to the previous champion.")
@click.option("--reason", default="by hand (rgd promote)", show_default=True, help="Recorded with the decision.")
@name_option
@uri_option
def promote_cmd(
    version: str | None, alias: str, do_rollback: bool, reason: str, name: str, tracking_uri: str | None
) -> None:
    """Point an alias (champion) at VERSION by hand, or roll the champion back with --rollback."""
    if do_rollback == (version is not None):
        raise click.UsageError("give either VERSION or --rollback")
    _configure(tracking_uri)
    from rgd.tracking.listing import NoRegisteredModelError
    from rgd.tracking.promotion import rollback, set_alias_manually

    try:
        if do_rollback:
            decision = rollback(name, reason=reason)
        else:
            decision = set_alias_manually(name, version, alias, reason=reason)
    except NoRegisteredModelError:
        raise _fail_nothing_registered(name) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: {decision.reason}")


def _read_questions(path: Path) -> list[str]:
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    try:
        data = path.read_bytes()
        lines = data.decode("utf-8").splitlines()
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise click.ClickException(f"{path}, row {row}: not UTF-8 text (byte {data[exc.start]:#04x}); save the "
                                   "questions as UTF-8") from None
    if path.suffix.lower() != ".jsonl":
        return [line.strip() for line in lines if line.strip()]
    out = []
    for row, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}, row {row}: not JSON ({exc.msg})") from None
        if isinstance(doc, str):
            out.append(doc)
        elif isinstance(doc, dict) and isinstance(doc.get("question", doc.get("text")), str):
            out.append(doc.get("question", doc.get("text")))
        else:
            raise click.ClickException(f"{path}, row {row}: expected a string or an object with a 'question' field")
    return out


def _load_model(name: str, version: str | None, alias: str):
    """The version's pyfunc model, loaded only after every file of it matched the registry's digest."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from rgd.tracking.model_files import load_verified

    try:
        mlflow.MlflowClient().get_registered_model(name)
    except MlflowException:
        raise _fail_nothing_registered(name) from None
    return load_verified(name, version=version, alias=None if version else alias)


def _route_rows(model, questions: list[str], k: int, cost_weight: float = 0.0) -> Iterator[dict[str, Any]]:
    import pandas as pd
    from tqdm import tqdm

    with tqdm(total=len(questions), desc="routing", unit="q", disable=len(questions) <= _BATCH, file=sys.stderr) as bar:
        for start in range(0, len(questions), _BATCH):
            chunk = questions[start : start + _BATCH]
            frame = model.predict(pd.DataFrame({"question": chunk}), params={"k": k, "cost_weight": cost_weight})
            for q, rec in zip(chunk, frame.to_dict(orient="records")):
                yield {
                    "question": q,
                    "models": json.loads(rec["models"]),
                    "scores": json.loads(rec["scores"]),
                    "top1": rec["top1"],
                    "subject": rec["subject"] or None,
                    "warning": rec.get("warning") or None,
                    # a model registered before the pyfunc had these columns: never flagged, similarity unknown
                    "out_of_distribution": bool(rec.get("out_of_distribution", False)),
                    "training_similarity": _number_or_none(rec.get("training_similarity")),
                    "note": rec.get("note") or None,
                }
            bar.update(len(chunk))


def _number_or_none(value: Any) -> float | None:
    """A float, or None for a missing or NaN one (JSON has no NaN)."""
    return None if value is None or value != value else float(value)


@main.command("route")
@click.argument("question", required=False)
@click.option("--version", default=None, help="Route with this registered version.")
@click.option("--alias", default=CHAMPION, show_default=True, help="Route with the version holding this alias.")
@click.option("--k", default=3, show_default=True, type=click.IntRange(min=1), help="How many models per question.")
@click.option("--cost-weight", type=float, default=0.0, show_default=True,
              help="Trade accuracy for cost, in [0, 1]: 0 ranks by quality alone (the router's ranking), 1 sends "
                   "every question to the cheapest model; in between, (1-w) x P(right) - w x cost / max cost. "
                   "Needs a router registered with per-model costs when above 0.")
@click.option("--file", "file_", type=click.Path(path_type=Path), help="Batch: questions.txt (one a line) or .jsonl.")
@click.option("--output", type=click.Path(path_type=Path), help="Batch: write JSONL here (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for a single question.")
@name_option
@uri_option
def route_cmd(
    question: str | None,
    version: str | None,
    alias: str,
    k: int,
    cost_weight: float,
    file_: Path | None,
    output: Path | None,
    as_json: bool,
    name: str,
    tracking_uri: str | None,
) -> None:
    """Send QUESTION (or every question of --file) to the best models of the pool."""
    if (question is None) == (file_ is None):
        raise click.UsageError("give either a QUESTION or --file")
    from rgd.routers.policy import check_cost_weight

    cost_weight = check_cost_weight(cost_weight)  # a bad knob fails before the registry is read
    if output is not None:
        check_writable(output, "--output")  # so does an output that cannot be written
    _configure(tracking_uri)
    questions = [question] if question is not None else _read_questions(file_)
    if not questions:
        raise click.ClickException(f"{file_}: no questions in it")
    model = _load_model(name, version, alias)
    rows = _route_rows(model, questions, k, cost_weight)
    if question is not None and not as_json and output is None:
        r = next(rows)
        if r["warning"]:
            click.echo(f"warning: {r['warning']}", err=True)
        if r["note"]:
            click.echo(f"note: {r['note']}")
        click.echo(f"subject: {r['subject'] or '-'}")
        for rank, (m, s) in enumerate(zip(r["models"], r["scores"]), 1):
            click.echo(f"{rank}. {m}  ({s:.4f})")
        return
    if output is not None:
        n = 0
        from rgd.data.versioned_json import atomic_file

        with atomic_file(output, "w", encoding="utf-8") as fh:  # no half-written output on a failure
            for r in rows:
                fh.write(json.dumps(r) + "\n")
                n += 1
        click.echo(f"routed {n} questions -> {output}", err=True)
    else:
        for r in rows:
            click.echo(json.dumps(r))
