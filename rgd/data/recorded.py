"""Recorded responses: a pool's real outputs on a benchmark, replayed from a directory.

Directory format (the one of ``../shared/data/mmlu_pro``; ``.jsonl`` or ``.jsonl.gz``)::

    questions.jsonl[.gz]        {"question_id", "category", "question", "options": [...], "answer": "C" | null, "src"?}
    responses/<model>.jsonl[.gz] {"question_id", "pred": "C" | null, "confidence"?: float, "generated_text"?: str}
    split.json                  {"train": [ids...], "test": [ids...]}

A model that has no row for a question, or whose ``pred`` is ``null``, did not answer it; a ``pred`` naming
a letter beyond the question's options (real models do this) is a wrong answer that votes for nothing.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from rgd.data.jsonl import read_jsonl
from rgd.data.response_table import NO_ANSWER, ResponseTable
from rgd.data.schema import Provenance, Question, letter_to_index
from rgd.errors import DataError, validation_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedDataset:
    """Questions, the pool's recorded answers to them, and the fixed train/test split."""

    name: str
    questions: tuple[Question, ...]
    table: ResponseTable
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]

    def part(self, which: str) -> tuple[list[Question], ResponseTable]:
        ids = {"train": self.train_ids, "test": self.test_ids}[which]
        cols = self.table.positions(ids)
        return [self.questions[i] for i in cols], self.table.take(cols)


def _find(directory: Path, stem: str) -> Path:
    for suffix in (".jsonl.gz", ".jsonl"):
        if (directory / f"{stem}{suffix}").exists():
            return directory / f"{stem}{suffix}"
    raise DataError(f"missing {stem}.jsonl.gz (or {stem}.jsonl)", path=directory)


def _model_name(path: Path) -> str | None:
    """The model a responses file is for, ``None`` for a file that is not ``<model>.jsonl[.gz]``."""
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _response_files(resp_dir: Path) -> dict[str, Path]:
    """``responses/<model>.jsonl[.gz]`` by model; other files (an editor's ``X.jsonl.gz~``) are ignored with a
    warning, and two files for one model are an error."""
    files: dict[str, Path] = {}
    if not resp_dir.is_dir():
        return files
    for path in sorted(resp_dir.iterdir()):
        model = _model_name(path) if path.is_file() else None
        if model is None:
            log.warning("%s: ignored (not a responses file <model>.jsonl or <model>.jsonl.gz)", path)
            continue
        if model in files:
            first, second = sorted([files[model].name, path.name])
            raise DataError(f"two responses files for model {model!r}: {first} and {second}; keep one", path=resp_dir)
        files[model] = path
    return files


def _question_id(obj: dict, path: Path, row: int) -> str:
    """A row's ``question_id`` as a string: a non-empty string or an integer (never null, a bool or a float)."""
    if "question_id" not in obj:
        raise DataError("missing field 'question_id'", path=path, row=row)
    qid = obj["question_id"]
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or qid == "":
        raise DataError(f"question_id must be a non-empty string or an integer, got {json.dumps(qid)}",
                        path=path, row=row)
    return str(qid)


def _subject(obj: dict, path: Path, row: int) -> str:
    """``category`` (or ``subject``): required, since without it every subject would collapse into one."""
    value = obj.get("category", obj.get("subject"))
    if value is None:
        raise DataError("missing field 'category' (the question's subject)", path=path, row=row)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"category must be a non-empty string, got {json.dumps(value)}", path=path, row=row)
    return value


def load_questions(path: Path, benchmark: str) -> list[Question]:
    questions: list[Question] = []
    seen: set[str] = set()
    for row, obj in read_jsonl(path):
        qid = _question_id(obj, path, row)
        if qid in seen:
            raise DataError(f"duplicate question_id {qid!r}", path=path, row=row)
        seen.add(qid)
        try:
            questions.append(
                Question(
                    id=qid,
                    subject=_subject(obj, path, row),
                    text=obj["question"],
                    options=obj["options"],
                    answer=obj.get("answer"),
                    provenance=Provenance(kind="benchmark", source=str(obj.get("src") or benchmark)),
                )
            )
        except KeyError as exc:
            raise DataError(f"missing field {exc.args[0]!r}", path=path, row=row) from None
        except ValidationError as exc:
            raise DataError(validation_message(exc), path=path, row=row) from None
    if not questions:
        raise DataError("no questions", path=path)
    return questions


def _load_responses(
    path: Path, qindex: dict[str, int], n_options: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    choices = np.full(len(qindex), NO_ANSWER, dtype=np.int8)
    confidence = np.full(len(qindex), np.nan, dtype=np.float32)
    seen = np.zeros(len(qindex), dtype=bool)
    rows = out_of_range = 0
    for row, obj in read_jsonl(path):
        rows += 1
        qid = _question_id(obj, path, row)
        if qid not in qindex:
            raise DataError(f"answer to unknown question_id {qid!r}", path=path, row=row)
        qi = qindex[qid]
        if seen[qi]:
            raise DataError(f"second answer to question_id {qid!r}", path=path, row=row)
        seen[qi] = True
        pred = obj.get("pred", obj.get("choice"))
        if pred is not None:
            try:
                idx = letter_to_index(pred)
            except ValueError:
                raise DataError(f"unknown option letter {pred!r}", path=path, row=row) from None
            if idx < n_options[qi]:
                choices[qi] = idx
            else:  # a real model can name a letter the question does not have: a wrong answer, no vote
                out_of_range += 1
        conf = obj.get("confidence")
        if conf is not None:
            try:
                confidence[qi] = float(conf)
            except (TypeError, ValueError):
                raise DataError(f"confidence {conf!r} is not a number", path=path, row=row) from None
    if rows == 0:
        raise DataError("responses file has no rows; remove it or record the model's answers", path=path)
    if out_of_range:
        log.info("%s: %d answers name an option the question does not have; counted as no answer", path, out_of_range)
    return choices, confidence


def directory_fingerprint(directory: str | Path) -> str:
    """sha256 over the relative path and the bytes of every file under ``directory`` (sorted): the content a
    cache of what was loaded from it must be keyed on. A missing directory is a :class:`DataError`."""
    import hashlib

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("not a directory", path=directory)
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(directory).as_posix()}\0{path.stat().st_size}\0".encode("utf-8"))
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def paths_fingerprint(paths: list[str | Path]) -> str:
    """One content hash over several directories (:func:`directory_fingerprint`) or files; a single directory
    hashes as itself. Missing paths are a :class:`DataError`."""
    import hashlib

    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir():
        return directory_fingerprint(paths[0])
    h = hashlib.sha256()
    for path in paths:
        if path.is_dir():
            h.update(f"dir\0{directory_fingerprint(path)}\0".encode())
        elif path.is_file():
            h.update(f"file\0{hashlib.sha256(path.read_bytes()).hexdigest()}\0".encode())
        else:
            raise DataError("no such file or directory", path=path)
    return h.hexdigest()


def load_split_questions(directory: str | Path, part: str, benchmark: str | None = None) -> list[Question]:
    """The questions of one part (``train`` / ``test``) of a recorded-layout directory's split, in split order."""
    return load_split_parts(directory, benchmark)[part]


def load_split_parts(directory: str | Path, benchmark: str | None = None) -> dict[str, list[Question]]:
    """``{"train": [...], "test": [...]}``: both parts of a recorded-layout directory's split, in split order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("not a directory", path=directory)
    questions = load_questions(_find(directory, "questions"), benchmark or directory.name)
    by_id = {q.id: q for q in questions}
    train_ids, test_ids = _load_split(directory / "split.json", by_id)
    return {"train": [by_id[i] for i in train_ids], "test": [by_id[i] for i in test_ids]}


def _load_split(path: Path, known: Mapping[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The one reader of ``split.json``: both parts non-empty, known ids only, none repeated, no overlap."""
    try:
        split = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at line {exc.lineno})", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read split ({exc})", path=path) from None
    parts = {}
    for part in ("train", "test"):
        ids = split.get(part) if isinstance(split, dict) else None
        if not isinstance(ids, list) or not ids:
            raise DataError(f"needs a non-empty list {part!r}", path=path)
        ids = [str(i) for i in ids]
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise DataError(
                f"{part!r} names {len(unknown)} question ids that are not in the questions file "
                f"(first: {unknown[:5]})",
                path=path,
            )
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            raise DataError(f"{part!r} repeats {len(repeated)} question ids (first: {repeated[:5]})", path=path)
        parts[part] = tuple(ids)
    overlap = set(parts["train"]) & set(parts["test"])
    if overlap:
        raise DataError(f"{len(overlap)} ids are in both train and test (first: {sorted(overlap)[:5]})", path=path)
    return parts["train"], parts["test"]


def recorded_models(directory: str | Path) -> list[str]:
    """The models a recorded-responses directory has answers of (``responses/<model>.jsonl[.gz]``), sorted: the
    pool :func:`load_recorded` loads when no models are named."""
    return sorted(_response_files(Path(directory) / "responses"))


def load_recorded(directory: str | Path, models: Sequence[str] | None = None) -> RecordedDataset:
    """Load a recorded-responses directory; ``models`` picks (and orders) a subset of the pool."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("not a directory", path=directory)
    questions = load_questions(_find(directory, "questions"), benchmark=directory.name)
    qindex = {q.id: i for i, q in enumerate(questions)}
    n_options = np.array([len(q.options) for q in questions], dtype=np.int16)

    resp_dir = directory / "responses"
    files = _response_files(resp_dir)
    if not files:
        raise DataError("no responses/<model>.jsonl[.gz] files", path=resp_dir)
    if models is None:
        models = sorted(files)
    missing = [m for m in models if m not in files]
    if missing:
        raise DataError(f"no responses file for models {missing}; available: {sorted(files)}", path=resp_dir)
    if len(models) < 2:
        raise DataError(f"a pool needs at least two models to route between; found {len(models)} "
                        f"({', '.join(models)})", path=resp_dir)

    choices = np.empty((len(models), len(questions)), dtype=np.int8)
    confidence = np.empty((len(models), len(questions)), dtype=np.float32)
    for i, model in enumerate(models):
        choices[i], confidence[i] = _load_responses(files[model], qindex, n_options)

    table = ResponseTable(
        models=tuple(models),
        question_ids=tuple(q.id for q in questions),
        subjects=np.array([q.subject for q in questions], dtype=str),
        n_options=n_options,
        choices=choices,
        confidence=confidence,
        answers=np.array([-1 if q.answer is None else q.answer_index for q in questions], dtype=np.int8),
    )
    train_ids, test_ids = _load_split(directory / "split.json", qindex)
    silent = ~(choices[:, table.positions(train_ids)] >= 0).any(axis=1)
    for model in np.asarray(models)[silent]:
        log.warning("%s answers none of the train split's questions: without labels nothing tells how good it is, "
                    "so its accuracy is estimated 0 and no question is routed to it (record its train answers)",
                    model)
    return RecordedDataset(directory.name, tuple(questions), table, train_ids, test_ids)
