"""A stratified, seeded train/test split, and writers for the recorded-dataset directory format.

``split.json`` and ``questions.jsonl[.gz]`` are written exactly as :mod:`rgd.data.recorded` reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from rgd.data.jsonl import write_jsonl
from rgd.data.schema import Question
from rgd.data.versioned_json import write_text_atomic
from rgd.errors import ParameterError


def stratified_split(
    questions: Sequence[Question], train_fraction: float = 0.7, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Split question ids into (train, test), each subject divided in ``train_fraction`` proportion.

    Within a subject the ids are shuffled with ``seed``; a subject with two or more questions puts at
    least one in each part. Output keeps the input's question order inside each part.
    """
    if not 0 < train_fraction < 1:
        raise ParameterError(f"train_fraction must be in (0, 1), got {train_fraction}")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ParameterError("question ids must be unique")
    subjects = np.array([q.subject for q in questions], dtype=object)
    rng = np.random.default_rng(seed)
    in_train = np.zeros(len(ids), dtype=bool)
    for subject in sorted(set(subjects.tolist())):
        members = np.flatnonzero(subjects == subject)
        n = members.size
        n_train = int(round(train_fraction * n))
        if n >= 2:
            n_train = min(max(n_train, 1), n - 1)
        in_train[rng.permutation(members)[:n_train]] = True
    train = [ids[i] for i in np.flatnonzero(in_train)]
    test = [ids[i] for i in np.flatnonzero(~in_train)]
    return train, test


def split_record(train: Sequence[str], test: Sequence[str], train_fraction: float, seed: int) -> dict:
    return {
        "seed": seed,
        "train_fraction": train_fraction,
        "stratified_by": "subject",
        "train": list(train),
        "test": list(test),
    }


def write_split(
    path: str | Path, questions: Sequence[Question], train_fraction: float = 0.7, seed: int = 0
) -> dict:
    """Split ``questions`` and write ``split.json`` (the format of rgd/recorded.py); returns the record."""
    train, test = stratified_split(questions, train_fraction, seed)
    record = split_record(train, test, train_fraction, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(record))
    return record


def write_questions(path: str | Path, questions: Sequence[Question]) -> None:
    """Write ``questions.jsonl[.gz]`` in the recorded-dataset row format."""
    write_jsonl(
        path,
        (
            {
                "question_id": q.id,
                "category": q.subject,
                "question": q.text,
                "options": list(q.options),
                "answer": q.answer,
                "src": q.provenance.source,
            }
            for q in questions
        ),
    )
