"""Answering many questions with one backend, resumably.

Checkpoint format (JSON lines): a header ``{"checkpoint": "rgd.answers", "version": 1, "model": NAME}``,
then one :class:`~rgd.data.schema.Response` per line. Each batch is appended, flushed and fsynced before the next
one starts, so a crash loses at most the batch in flight; a restarted run skips every question already in the
checkpoint. A last line cut short by a crash (no newline, or not valid JSON) is dropped and overwritten.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

from pydantic import ValidationError
from tqdm.auto import tqdm

from rgd.data.schema import Question, Response
from rgd.errors import DataError, ParameterError
from rgd.llm.backends.base import LLMBackend, SamplingConfig

log = logging.getLogger(__name__)

FORMAT = "rgd.answers"
VERSION = 1


def read_checkpoint(path: Path, model: str, known_ids: set[str]) -> tuple[dict[str, Response], int]:
    """Responses in a checkpoint, and the byte length of its intact part (a torn last line excluded)."""
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    # every complete line ends with "\n": the last element is b"" for an intact file, else a torn tail
    torn = lines.pop()
    intact_len = len(raw) - len(torn)
    if torn:
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted write", path, len(torn))
    if not lines:
        return {}, 0
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise DataError("not an answers checkpoint (bad header line)", path=path, row=1) from None
    if not isinstance(header, dict) or header.get("checkpoint") != FORMAT or header.get("version") != VERSION:
        raise DataError(f"not an answers checkpoint of format {FORMAT} v{VERSION}: {lines[0][:200]!r}", path=path, row=1)
    if header.get("model") != model:
        raise DataError(
            f"checkpoint belongs to model {header.get('model')!r}, not {model!r}; use another checkpoint path",
            path=path,
            row=1,
        )
    done: dict[str, Response] = {}
    for row, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            response = Response.model_validate_json(line)
        except ValidationError as exc:
            raise DataError(f"corrupt response line ({exc.errors()[0]['msg']})", path=path, row=row) from None
        if response.model != model:
            raise DataError(f"response of model {response.model!r} in a checkpoint of {model!r}", path=path, row=row)
        if response.question_id not in known_ids:
            raise DataError(
                f"answer to question {response.question_id!r}, which is not among the questions of this run; "
                "the checkpoint was written for other questions",
                path=path,
                row=row,
            )
        if response.question_id in done:
            raise DataError(f"second answer to question {response.question_id!r}", path=path, row=row)
        done[response.question_id] = response
    return done, intact_len


def _append(fh, lines: list[str]) -> None:
    fh.write("".join(lines).encode("utf-8"))
    fh.flush()
    os.fsync(fh.fileno())


def answer_all(
    backend: LLMBackend,
    questions: Sequence[Question],
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 64,
    progress: bool = True,
    sampling: SamplingConfig | None = None,
    resume: bool = True,
) -> list[Response]:
    """Answer every question with ``backend``, in batches of ``checkpoint_every``; returns the responses in
    the order of ``questions``. With ``checkpoint_path``, resumes from and appends to that checkpoint
    (``resume=False``: ignores what it holds and writes it anew)."""
    if checkpoint_every < 1:
        raise ParameterError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    questions = list(questions)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"question id {dup!r} appears more than once")
    model = backend.model

    done: dict[str, Response] = {}
    fh = None
    if checkpoint_path is not None:
        path = Path(checkpoint_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        intact_len = 0
        if path.exists() and resume:
            done, intact_len = read_checkpoint(path, model, set(ids))
        fh = open(path, "r+b" if path.exists() else "wb")
        fh.truncate(intact_len)
        fh.seek(intact_len)
        if intact_len == 0:
            _append(fh, [json.dumps({"checkpoint": FORMAT, "version": VERSION, "model": model}) + "\n"])
        if done:
            log.info("%s: resuming, %d of %d questions already answered", path, len(done), len(questions))

    todo = [q for q in questions if q.id not in done]
    bar = tqdm(total=len(questions), initial=len(done), desc=f"answering ({model})", disable=not progress, unit="q")
    try:
        for start in range(0, len(todo), checkpoint_every):
            batch = todo[start : start + checkpoint_every]
            responses = backend.answer(batch, sampling)
            got = [r.question_id for r in responses]
            if got != [q.id for q in batch]:
                raise DataError(
                    f"backend {model!r} returned answers for {got[:5]}... instead of {[q.id for q in batch][:5]}..."
                )
            if fh is not None:
                _append(fh, [r.model_dump_json() + "\n" for r in responses])
            done.update((r.question_id, r) for r in responses)
            bar.update(len(batch))
    finally:
        bar.close()
        if fh is not None:
            fh.close()
    return [done[i] for i in ids]
