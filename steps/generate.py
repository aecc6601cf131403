"""generate_questions: the generators write questions (+ re-answer them); load_test_set: the real test set.

Each takes the run's source's view of the config (:meth:`rgd.workflow.sources.Source.generation_view`,
``test_set_view``): the sections that decide the data, every other one at its default."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.generate import generate_stage
from rgd.workflow.generate import load_test_set as load_test_set_stage


@step
def generate_questions(config: RunConfig, data_sha256: Optional[str] = None) -> tuple[
    Annotated[QuestionSet, "generated_questions"],
    Annotated[Optional[ResponseTable], "generator_self_answers"],
]:
    """Questions from every configured generator, with their keys, provenance and (simulated) latent truth.
    ``data_sha256``: the content hash of a recorded generator's files (a cache key; steps.recorded.data_input)."""
    questions, self_answers = generate_stage(config)
    log_metadata(metadata={"n_generated": len(questions), "generators": ", ".join(questions.generators),
                           "content_hash": questions.content_hash})
    return questions, self_answers


@step
def load_test_set(config: RunConfig, data_sha256: Optional[str] = None) -> Annotated[QuestionSet, "test_questions"]:
    """The labelled test set the router is evaluated on (never used for training). ``data_sha256``: the
    content hash of ``test_set.dir``, so that the cache sees edits to its files (steps.recorded.data_input)."""
    return load_test_set_stage(config)
