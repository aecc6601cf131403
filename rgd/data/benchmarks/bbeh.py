"""BIG-Bench Extra Hard (BBEH/bbeh): rows ``input``, ``target``, ``task``.

BBEH is free-form: a target is a string. The question schema is multiple-choice (at least one option),
so only tasks with a closed answer set are ingested, which are the nine tasks of the built-in subject set
``rgd/data/catalog/bbeh.yaml``:

* tasks whose input lists lettered options ``(A) ...``, ``(B) ...`` and whose target names one (``(C)``):
  the options are cut out of the input and the target becomes the key;
* tasks with a fixed label set (``LABEL_TASKS``, e.g. boardgame qa: proved / disproved / unknown): the
  labels are the options, in that fixed order, and the target (case-insensitive) picks the key.

Rows of other tasks are skipped (``task_not_selected``), as are rows of the chosen tasks that do not fit
(``no_lettered_options``, ``target_not_an_option``): the ingest report counts them. BBEH has no row ids,
so a question's id is ``bbeh-<task>-<n>``, n counting that task's rows in file order.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Iterable

from rgd.data.benchmarks.spec import BenchmarkSpec, RowContext, SkipRow
from rgd.data.schema import LETTERS, Provenance, Question

LABEL_TASKS: dict[str, tuple[str, ...]] = {
    "boardgame qa": ("proved", "disproved", "unknown"),
    "causal understanding": ("Yes", "No", "Ambiguous"),
}

_OPTIONS_START_LINE = re.compile(r"^[ \t]*\(A\)", re.MULTILINE)
_OPTIONS_START_ANY = re.compile(r"\(A\)\s")
_LABEL = re.compile(r"\(([A-Z])\)\s*")
_OPTIONS_HEADER = re.compile(r"\n?[ \t]*(?:Options|Choices|Answer choices)\s*:?[ \t]*$", re.IGNORECASE)
_TARGET_LETTER = re.compile(r"^\s*\(?([A-Z])\)?\s*$")


def split_lettered_options(text: str) -> tuple[str, list[str]] | None:
    """(question text, options) when ``text`` ends with lettered options (A), (B), ...; else None."""
    starts = list(_OPTIONS_START_LINE.finditer(text)) or list(_OPTIONS_START_ANY.finditer(text))
    if not starts:
        return None
    pos = starts[-1].start()
    parts = _LABEL.split(text[pos:].strip())
    # parts: ['', 'A', 'text A', 'B', 'text B', ...]
    letters, options = parts[1::2], [p.strip() for p in parts[2::2]]
    if len(letters) < 2 or letters != list(LETTERS[: len(letters)]) or any(not o for o in options):
        return None
    stem = _OPTIONS_HEADER.sub("", text[:pos].rstrip()).strip()
    return (stem or text[:pos].strip()), options


def _slug(task: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")


def to_question(row, ctx: RowContext, tasks: frozenset[str]) -> Question:
    task = str(row["task"])
    text, target = str(row["input"]), str(row["target"]).strip()
    if task not in tasks:
        raise SkipRow("task_not_selected")
    qid = f"bbeh-{_slug(task)}-{ctx.next_index(task)}"
    if task in LABEL_TASKS:
        labels = list(LABEL_TASKS[task])
        lowered = [label.lower() for label in labels]
        if target.lower() not in lowered:
            raise SkipRow("target_not_an_option")
        options, answer = labels, LETTERS[lowered.index(target.lower())]
    else:
        split = split_lettered_options(text)
        if split is None:
            raise SkipRow("no_lettered_options")
        text, options = split
        m = _TARGET_LETTER.match(target)
        if m is None or LETTERS.index(m.group(1)) >= len(options):
            raise SkipRow("target_not_an_option")
        answer = m.group(1)
    return Question(
        id=qid, subject=task, text=text, options=options, answer=answer,
        provenance=Provenance(kind="benchmark", source="bbeh"),
    )


def default_tasks() -> frozenset[str]:
    from rgd.data.subjects import load_subjects

    return frozenset(load_subjects("bbeh").names)


def make_spec(tasks: Iterable[str] | None = None) -> BenchmarkSpec:
    chosen = frozenset(tasks) if tasks is not None else default_tasks()
    return BenchmarkSpec(
        name="bbeh",
        hub_path="BBEH/bbeh",
        hub_split="train",
        to_question=partial(to_question, tasks=chosen),
        required_fields=("input", "target", "task"),
    )
