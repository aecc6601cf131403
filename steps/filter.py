"""filter_questions: keep the generated questions that are self-consistent (a) and separate the pool (b);
hold a seeded share of them out of training (``evaluation.holdout_fraction``) for the label-free estimate.
It takes the run's ``filter`` section, the consensus temperature (its agreement check's), the held-out
fraction, the seed and the pool's model names."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.data.response_table import ResponseTable
from rgd.filtering import FilterConfig
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.curate import filter_stage
from rgd.workflow.estimate import holdout_stage
from rgd.workflow.respond import merge_pool


@step
def filter_questions(
    settings: FilterConfig,
    consensus_temperature: float,
    holdout_fraction: float,
    seed: int,
    pool_models: list[str],
    generated: QuestionSet,
    train_responses: list[ResponseTable],
    self_answers: Optional[ResponseTable],
) -> tuple[
    Annotated[QuestionSet, "filtered_questions"],
    Annotated[ResponseTable, "pool_responses"],
    Annotated[dict[str, Any], "filter_report"],
    Annotated[QuestionSet, "holdout_questions"],
    Annotated[ResponseTable, "holdout_responses"],
]:
    pool = merge_pool(train_responses, pool_models)
    kept, table, report = filter_stage(settings, generated, pool, self_answers,
                                       consensus_temperature=consensus_temperature)
    train_q, train_table, held_q, held_table = holdout_stage(kept, table, holdout_fraction, seed)
    doc = {**json.loads(report.model_dump_json()), "n_train": len(train_q), "n_holdout": len(held_q)}
    log_metadata(metadata={"n_input": report.n_input, "n_kept": report.n_kept, "failures": report.failures,
                           "n_holdout": len(held_q)})
    return train_q, train_table, doc, held_q, held_table
