"""Benchmark ingestion: raw rows (local file or hub) -> Questions, with a report of skipped rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from tqdm.auto import tqdm

from rgd.data.benchmarks import bbeh, medmcqa, mmlu_pro, supergpqa
from rgd.data.benchmarks.sources import read_hub_rows, read_local_rows
from rgd.data.benchmarks.spec import BenchmarkSpec, RowContext, SkipRow
from rgd.data.schema import Question
from rgd.errors import DataError, validation_message

BENCHMARKS = ("mmlu_pro", "supergpqa", "medmcqa", "bbeh")


class IngestReport(BaseModel):
    """How the rows of one source became questions (JSON-able)."""

    benchmark: str
    source: str
    rows: int = 0
    kept: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    per_subject: dict[str, int] = Field(default_factory=dict)


def get_spec(name: str, **options) -> BenchmarkSpec:
    """The adapter of a benchmark; ``options``: ``cop_base`` (medmcqa), ``tasks`` (bbeh)."""
    if name == "mmlu_pro":
        spec = mmlu_pro.SPEC
    elif name == "supergpqa":
        spec = supergpqa.SPEC
    elif name == "medmcqa":
        return medmcqa.make_spec(**options)
    elif name == "bbeh":
        return bbeh.make_spec(**options)
    else:
        raise DataError(f"unknown benchmark {name!r}; known: {list(BENCHMARKS)}")
    if options:
        raise TypeError(f"benchmark {name!r} takes no options, got {sorted(options)}")
    return spec


def load_benchmark(
    name: str,
    path: str | Path | None = None,
    *,
    split: str | None = None,
    limit: int | None = None,
    cache_dir: str | None = None,
    hub_path: str | None = None,
    progress: bool = False,
    **options,
) -> tuple[list[Question], IngestReport]:
    """Questions of benchmark ``name`` from a local file (``path``) or, without one, from the hub.

    ``split`` and ``hub_path`` (a mirror, or a local dataset directory ``datasets`` can read) override the
    benchmark's hub defaults; they do not apply to ``path``. A row missing a required field, or whose values make no valid question, raises a DataError naming
    the file and row; a row with no multiple-choice form is skipped and counted in the report.
    """
    spec = get_spec(name, **options)
    if path is not None:
        rows, source = read_local_rows(path), str(path)
    else:
        hub_split, hub = split or spec.hub_split, hub_path or spec.hub_path
        rows, source = read_hub_rows(hub, hub_split, spec.hub_config, cache_dir), f"hub:{hub}[{hub_split}]"
    report = IngestReport(benchmark=name, source=source)
    ctx = RowContext()
    questions: list[Question] = []
    seen: set[str] = set()
    skipped: Counter = Counter()
    for row, obj in tqdm(rows, desc=f"reading {name}", disable=not progress, unit="row"):
        report.rows += 1
        missing = [f for f in spec.required_fields if f not in obj]
        if missing:
            raise DataError(f"missing field {missing[0]!r} (a {name} row needs {list(spec.required_fields)})",
                            path=source, row=row)
        try:
            q = spec.to_question(obj, ctx)
        except SkipRow as skip:
            skipped[skip.reason] += 1
            continue
        except KeyError as exc:
            raise DataError(f"missing field {exc.args[0]!r}", path=source, row=row) from None
        except ValidationError as exc:
            raise DataError(validation_message(exc), path=source, row=row) from None
        except ValueError as exc:
            raise DataError(str(exc), path=source, row=row) from None
        if q.id in seen:
            raise DataError(f"duplicate question id {q.id!r}", path=source, row=row)
        seen.add(q.id)
        questions.append(q)
        if limit is not None and len(questions) >= limit:
            break
    if report.rows == 0:
        raise DataError("no rows", path=source)
    report.kept = len(questions)
    report.skipped = dict(sorted(skipped.items()))
    report.per_subject = dict(sorted(Counter(q.subject for q in questions).items()))
    return questions, report
