"""A whole pool's answers as arrays (models x questions), so everything downstream is vectorised."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from rgd.data.schema import Question, Response, letter_to_index
from rgd.data.versioned_json import atomic_file, read_npz, read_versioned_json, write_versioned_json
from rgd.errors import ArtifactError, DataError

NO_ANSWER = -1
TABLE_FORMAT = "rgd.data.response_table"
FORMAT_VERSION = 1
TABLE_FILE = "table.json"
ARRAYS_FILE = "arrays.npz"


@dataclass(frozen=True)
class ResponseTable:
    """The answers of ``M`` models to ``Q`` questions.

    ``choices[m, q]`` is the option index model ``m`` chose for question ``q`` (``-1``: no answer),
    ``confidence[m, q]`` its mean token log-probability (``nan``: unknown), ``answers[q]`` the key
    (``-1``: unknown) and ``n_options[q]`` how many options the question has.
    """

    models: tuple[str, ...]
    question_ids: tuple[str, ...]
    subjects: np.ndarray  # (Q,) str
    n_options: np.ndarray  # (Q,) int16
    choices: np.ndarray  # (M, Q) int8
    confidence: np.ndarray  # (M, Q) float32
    answers: np.ndarray  # (Q,) int8
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        m, q = len(self.models), len(self.question_ids)
        if self.choices.shape != (m, q) or self.confidence.shape != (m, q):
            raise DataError(f"choices/confidence must be {(m, q)}, got {self.choices.shape}/{self.confidence.shape}")
        for name in ("subjects", "n_options", "answers"):
            if getattr(self, name).shape != (q,):
                raise DataError(f"{name} must have shape {(q,)}, got {getattr(self, name).shape}")
        if len(set(self.models)) != m:
            raise DataError("model names must be unique")
        if len(set(self.question_ids)) != q:
            raise DataError("question ids must be unique")
        if q and (self.choices >= self.n_options[None, :]).any():
            mi, qi = np.argwhere(self.choices >= self.n_options[None, :])[0]
            raise DataError(
                f"model {self.models[mi]!r} chose option {int(self.choices[mi, qi])} of question "
                f"{self.question_ids[qi]!r}, which has {int(self.n_options[qi])} options"
            )
        object.__setattr__(self, "_index", {qid: i for i, qid in enumerate(self.question_ids)})

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_records(
        cls,
        questions: Sequence[Question],
        responses: Iterable[Response],
        models: Sequence[str] | None = None,
    ) -> "ResponseTable":
        """Build a table; questions a model did not answer stay ``-1`` (no answer)."""
        responses = list(responses)
        if models is None:
            models = sorted({r.model for r in responses})
        mindex = {name: i for i, name in enumerate(models)}
        qindex = {qu.id: i for i, qu in enumerate(questions)}
        choices = np.full((len(models), len(questions)), NO_ANSWER, dtype=np.int8)
        confidence = np.full((len(models), len(questions)), np.nan, dtype=np.float32)
        for r in responses:
            if r.model not in mindex:
                raise DataError(f"response from model {r.model!r}, which is not in the pool {list(models)}")
            if r.question_id not in qindex:
                raise DataError(f"response of {r.model!r} to unknown question {r.question_id!r}")
            mi, qi = mindex[r.model], qindex[r.question_id]
            if r.choice is not None:
                choices[mi, qi] = letter_to_index(r.choice)
            if r.confidence is not None:
                confidence[mi, qi] = r.confidence
        return cls(
            models=tuple(models),
            question_ids=tuple(qu.id for qu in questions),
            subjects=np.array([qu.subject for qu in questions], dtype=str),
            n_options=np.array([len(qu.options) for qu in questions], dtype=np.int16),
            choices=choices,
            confidence=confidence,
            answers=np.array([-1 if qu.answer is None else qu.answer_index for qu in questions], dtype=np.int8),
        )

    # ------------------------------------------------------------------ views
    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_questions(self) -> int:
        return len(self.question_ids)

    @property
    def max_options(self) -> int:
        return int(self.n_options.max()) if self.n_questions else 0

    @property
    def has_confidence(self) -> bool:
        return bool(np.isfinite(self.confidence).any())

    @property
    def has_answers(self) -> bool:
        return bool(self.n_questions) and bool((self.answers >= 0).all())

    def positions(self, question_ids: Iterable[str]) -> np.ndarray:
        """Column indices of the given question ids (DataError naming the first unknown id)."""
        out = []
        for qid in question_ids:
            if qid not in self._index:
                raise DataError(f"unknown question id {qid!r}")
            out.append(self._index[qid])
        return np.asarray(out, dtype=np.int64)

    def take(self, columns: np.ndarray | Sequence[int]) -> "ResponseTable":
        """A table restricted to the given question columns (in that order)."""
        cols = np.asarray(columns, dtype=np.int64)
        return ResponseTable(
            models=self.models,
            question_ids=tuple(self.question_ids[i] for i in cols),
            subjects=self.subjects[cols],
            n_options=self.n_options[cols],
            choices=self.choices[:, cols],
            confidence=self.confidence[:, cols],
            answers=self.answers[cols],
        )

    def select_models(self, models: Sequence[str]) -> "ResponseTable":
        idx = [self.models.index(m) for m in models]
        return ResponseTable(
            models=tuple(models),
            question_ids=self.question_ids,
            subjects=self.subjects,
            n_options=self.n_options,
            choices=self.choices[idx],
            confidence=self.confidence[idx],
            answers=self.answers,
        )

    def with_answers(self, answers: np.ndarray) -> "ResponseTable":
        return ResponseTable(
            models=self.models,
            question_ids=self.question_ids,
            subjects=self.subjects,
            n_options=self.n_options,
            choices=self.choices,
            confidence=self.confidence,
            answers=np.asarray(answers, dtype=np.int8),
        )

    def correct(self) -> np.ndarray:
        """(M, Q) bool: the model's choice equals the key. Requires every key to be known."""
        if not self.has_answers:
            raise DataError("correctness needs an answer key for every question; some keys are unknown")
        return self.choices == self.answers[None, :]

    def accuracy(self) -> np.ndarray:
        """(M,) accuracy of each model against the keys."""
        return self.correct().mean(axis=1)

    # ------------------------------------------------------------------ storage (no pickle)
    def save(self, directory: str | Path) -> Path:
        """Write ``table.json`` (names, ids, subjects) and ``arrays.npz`` (the numbers) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        doc = {"models": list(self.models), "question_ids": list(self.question_ids), "subjects": self.subjects.tolist()}
        write_versioned_json(directory / TABLE_FILE, TABLE_FORMAT, FORMAT_VERSION, doc, indent=None)
        with atomic_file(directory / ARRAYS_FILE) as fh:
            np.savez(
                fh,
                n_options=self.n_options,
                choices=self.choices,
                confidence=self.confidence,
                answers=self.answers,
            )
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "ResponseTable":
        """A table written by :meth:`save`; ArtifactError naming the file when anything is amiss."""
        directory = Path(directory)
        path = directory / TABLE_FILE
        meta = read_versioned_json(path, TABLE_FORMAT, FORMAT_VERSION, what="response table")
        arrays = read_npz(directory / ARRAYS_FILE, what="response table", required=_TABLE_ARRAYS)
        try:
            return cls(
                models=tuple(meta["models"]),
                question_ids=tuple(meta["question_ids"]),
                subjects=np.array(meta["subjects"], dtype=str),
                n_options=arrays["n_options"].astype(np.int16),
                choices=arrays["choices"].astype(np.int8),
                confidence=arrays["confidence"].astype(np.float32),
                answers=arrays["answers"].astype(np.int8),
            )
        except (KeyError, TypeError, ValueError) as exc:  # DataError is a ValueError
            raise ArtifactError(f"{path}: corrupt response table ({type(exc).__name__}: {exc})") from None


_TABLE_ARRAYS = ("n_options", "choices", "confidence", "answers")
