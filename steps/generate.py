"""generate_questions: the generators write questions (+ re-answer them); load_test_set: the real test set."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import log_metadata, step

from rgd.workflow import stages
from rgd.workflow.artifacts import QuestionSet
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable


@step
def generate_questions(config: RunConfig) -> tuple[
    Annotated[QuestionSet, "generated_questions"],
    Annotated[Optional[ResponseTable], "generator_self_answers"],
]:
    """Questions from every configured generator, with their keys, provenance and (simulated) latent truth."""
    questions, self_answers = stages.generate(config)
    log_metadata(metadata={"n_generated": len(questions), "generators": ", ".join(questions.generators),
                           "content_hash": questions.content_hash})
    return questions, self_answers


@step
def load_test_set(config: RunConfig) -> Annotated[QuestionSet, "test_questions"]:
    """The labelled test set the router is evaluated on (never used for training)."""
    return stages.load_test_set(config)
