"""A pool model that replays its recorded answers (see :mod:`rgd.data.recorded`) and answers nothing else."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Sequence

from rgd.data.recorded import RecordedDataset, directory_fingerprint, load_recorded
from rgd.data.response_table import NO_ANSWER, ResponseTable
from rgd.data.schema import Question, Response, index_to_letter
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError


class UnrecordedQuestionError(BackendError, KeyError):
    """A recorded backend was asked a question it has no recorded answer for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class RecordedBackend(LLMBackend):
    """Answers from one model's row of a :class:`ResponseTable` (or a :class:`RecordedDataset`'s table)."""

    def __init__(self, model: str, table_or_dataset: ResponseTable | RecordedDataset | None = None, *,
                 dir: str | Path | None = None) -> None:
        """``dir``: a recorded-layout directory (a run config's ``pool: {kind: recorded, params: {dir: ...}}``)
        instead of a loaded table."""
        if (table_or_dataset is None) == (dir is None):
            raise BackendError("a recorded backend replays either a loaded table or a directory ('dir'): give one")
        if dir is not None:
            table_or_dataset = _load_directory(Path(dir))
        table = table_or_dataset.table if isinstance(table_or_dataset, RecordedDataset) else table_or_dataset
        if not isinstance(table, ResponseTable):
            raise TypeError(f"expected a ResponseTable or RecordedDataset, got {type(table_or_dataset).__name__}")
        if model not in table.models:
            raise BackendError(f"no recorded answers for model {model!r}; recorded models: {list(table.models)}")
        self.model = model
        self._table = table
        self._row = table.models.index(model)

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        raise BackendError(f"{self.model}: a recorded backend only replays answers; it cannot generate text")

    def answer(self, questions: Sequence[Question], sampling: SamplingConfig | None = None) -> list[Response]:
        """The recorded response to each question (``choice=None`` where the model gave no answer);
        :class:`UnrecordedQuestionError` naming the first question that was not recorded."""
        known = self._table._index
        missing = [q.id for q in questions if q.id not in known]
        if missing:
            raise UnrecordedQuestionError(
                f"{self.model}: {len(missing)} of {len(questions)} questions were never recorded "
                f"(first: {missing[:5]}); a recorded backend answers only the questions it recorded"
            )
        out = []
        for q in questions:
            col = known[q.id]
            n_recorded = int(self._table.n_options[col])
            if n_recorded != len(q.options):
                raise BackendError(
                    f"{self.model}: question {q.id!r} has {len(q.options)} options but was recorded with {n_recorded}"
                )
            choice = int(self._table.choices[self._row, col])
            conf = float(self._table.confidence[self._row, col])
            out.append(
                Response(
                    model=self.model,
                    question_id=q.id,
                    choice=None if choice == NO_ANSWER else index_to_letter(choice),
                    confidence=conf if math.isfinite(conf) else None,
                )
            )
        return out


def _load_directory(directory: Path) -> RecordedDataset:
    """Every recorded model of ``directory``, loaded once per process and content (the pool's respond steps
    of one run share it; an edited file is loaded again)."""
    return _load_fingerprinted(directory.resolve(), directory_fingerprint(directory / "responses"))


@functools.lru_cache(maxsize=2)
def _load_fingerprinted(directory: Path, fingerprint: str) -> RecordedDataset:
    return load_recorded(directory)
