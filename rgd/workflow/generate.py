"""Step 1, generate: the generators write questions with their keys (and re-answer them for the filter)."""

from __future__ import annotations

from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.sources import source_for


def generate_stage(config: RunConfig, progress: bool = True) -> tuple[QuestionSet, ResponseTable | None]:
    """Generated questions of every generator, and the generators' re-answers to them (filter check a)."""
    return source_for(config).generate(progress)


def load_test_set(config: RunConfig) -> QuestionSet:
    """The real labelled test set: the simulated world's true-key questions, or a benchmark's split."""
    return source_for(config).test_set()
