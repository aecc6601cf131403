"""Step 2, respond: every pool model answers the generated and the test questions, resumably.

Answers are checkpointed per model and question set (:func:`rgd.llm.answering.answer_all`), so a crashed
run loses nothing. A checkpoint is keyed on everything that decides the answers (:func:`answer_identity`);
``respond.resume: false`` (``rgd run --no-cache``) answers everything again and rewrites it. ``RGD_FAIL_RESPOND_AFTER`` (and optionally ``RGD_FAIL_RESPOND_MODEL``) inject a failure
after that many new answers, to test crash recovery.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rgd.config.run_config import RunConfig, model_slug
from rgd.data.response_table import ResponseTable
from rgd.data.schema import Question
from rgd.errors import DataError, RGDError
from rgd.home import rgd_home
from rgd.llm.backends.base import LLMBackend, SamplingConfig
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.sources import source_for

FAIL_AFTER_ENV = "RGD_FAIL_RESPOND_AFTER"
FAIL_MODEL_ENV = "RGD_FAIL_RESPOND_MODEL"


class InjectedFailure(RGDError):
    """A failure injected on purpose (``RGD_FAIL_RESPOND_AFTER``) to test crash recovery."""


class _CountingBackend(LLMBackend):
    """Counts what the wrapped backend is asked; raises an injected failure past ``fail_after``."""

    def __init__(self, inner: LLMBackend, fail_after: int | None = None) -> None:
        self.inner, self.model, self.fail_after, self.asked = inner, inner.model, fail_after, 0

    def generate(self, prompts, sampling=None):
        return self.inner.generate(prompts, sampling)

    def answer(self, questions, sampling=None):
        if self.fail_after is not None and self.asked + len(questions) > self.fail_after:
            raise InjectedFailure(f"respond {self.model!r}: injected failure after {self.asked} new answers "
                                  f"({FAIL_AFTER_ENV}={self.fail_after}); the answers so far are checkpointed")
        out = self.inner.answer(questions, sampling)
        self.asked += len(questions)
        return out


def _fail_after(model: str) -> int | None:
    raw = os.environ.get(FAIL_AFTER_ENV)
    if not raw:
        return None
    target = os.environ.get(FAIL_MODEL_ENV)
    if target and target not in (model, model_slug(model)):
        return None
    try:
        return int(raw)
    except ValueError:
        raise DataError(f"{FAIL_AFTER_ENV} must be an integer, got {raw!r}") from None


#: bump when the answer prompt or the extraction of a choice from a reply changes what is recorded
ANSWER_FORMAT_VERSION = 2


def answer_identity(config: RunConfig, model: str, *question_sets: QuestionSet,
                    backend_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything besides the questions that decides ``model``'s answers: the source's identity of the model
    (simulated world and pool, or backend kind, model and parameters) and the sampling."""
    return {"source": source_for(config).answer_identity(model, *question_sets, extra_params=backend_params),
            "temperature": config.respond.temperature, "max_tokens": config.respond.max_tokens,
            "format": ANSWER_FORMAT_VERSION}


def checkpoint_path(model: str, questions: Sequence[Question], identity: dict[str, Any] | None = None) -> Path:
    """Where one model's answers to one question set are checkpointed: keyed by the set's content and by
    ``identity`` (:func:`answer_identity`), so answers given under another pool, backend or sampling are
    never reused."""
    import hashlib
    import json

    from rgd.workflow.artifacts import content_hash

    key = hashlib.sha256(content_hash(questions).encode())
    key.update(json.dumps(identity, sort_keys=True, default=str).encode())
    return rgd_home() / "checkpoints" / "respond" / key.hexdigest()[:16] / f"{model_slug(model)}.jsonl"


def respond_stage(config: RunConfig, model: str, generated: QuestionSet, test: QuestionSet,
            progress: bool = True, backend_params: dict[str, Any] | None = None
            ) -> tuple[ResponseTable, ResponseTable, dict[str, Any]]:
    """One pool model answers the generated and the test questions, resumably (answer_all's checkpoint)."""
    from rgd.llm.answering import answer_all

    questions = list(generated.questions) + list(test.questions)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise DataError("a generated question has the id of a test question; cannot answer both in one table")
    inner = source_for(config).pool_backend(model, generated, test, extra_params=backend_params)
    backend = _CountingBackend(inner, _fail_after(model))
    path = checkpoint_path(model, questions,
                           answer_identity(config, model, generated, test, backend_params=backend_params))
    sampling = SamplingConfig(temperature=config.respond.temperature, max_tokens=config.respond.max_tokens)
    t0 = time.perf_counter()
    responses = answer_all(backend, questions, checkpoint_path=path, checkpoint_every=config.respond.checkpoint_every,
                           progress=progress, sampling=sampling, resume=config.respond.resume)
    table = ResponseTable.from_records(questions, responses, [model])
    n_gen = len(generated)
    info = {"model": model, "n_questions": len(questions), "answered_now": backend.asked,
            "resumed_from_checkpoint": len(questions) - backend.asked, "checkpoint": str(path),
            "seconds": round(time.perf_counter() - t0, 3),
            "answer_rate": float((table.choices >= 0).mean()) if len(questions) else 0.0}
    return table.take(np.arange(n_gen)), table.take(np.arange(n_gen, len(questions))), info


def merge_pool(tables: Sequence[ResponseTable], models: Sequence[str] | None = None) -> ResponseTable:
    """Stack single-model tables over the same questions into one pool table (in ``models`` order)."""
    if not tables:
        raise DataError("no response tables to merge")
    first = tables[0]
    by_model: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in tables:
        if t.question_ids != first.question_ids:
            raise DataError(f"responses of {t.models} cover other questions than those of {first.models}")
        for i, m in enumerate(t.models):
            if m in by_model:
                raise DataError(f"two response tables for model {m!r}")
            by_model[m] = (t.choices[i], t.confidence[i])
    order = list(models) if models is not None else list(by_model)
    missing = [m for m in order if m not in by_model]
    if missing:
        raise DataError(f"no responses of pool models {missing}")
    return ResponseTable(models=tuple(order), question_ids=first.question_ids, subjects=first.subjects,
                         n_options=first.n_options, choices=np.stack([by_model[m][0] for m in order]),
                         confidence=np.stack([by_model[m][1] for m in order]), answers=first.answers)
