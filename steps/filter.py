"""filter_questions: keep the generated questions that are self-consistent (a) and separate the pool (b);
hold a seeded share of them out of training (``evaluation.holdout_fraction``) for the label-free estimate."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.curate import filter_stage
from rgd.workflow.estimate import holdout_stage
from rgd.workflow.respond import merge_pool
from rgd.workflow.sources import source_for


@step
def filter_questions(
    config: RunConfig,
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
    pool = merge_pool(train_responses, source_for(config).pool_model_names())
    kept, table, report = filter_stage(config, generated, pool, self_answers)
    train_q, train_table, held_q, held_table = holdout_stage(config, kept, table)
    doc = {**json.loads(report.model_dump_json()), "n_train": len(train_q), "n_holdout": len(held_q)}
    log_metadata(metadata={"n_input": report.n_input, "n_kept": report.n_kept, "failures": report.failures,
                           "n_holdout": len(held_q)})
    return train_q, train_table, doc, held_q, held_table
