"""load_recorded_data: a recorded pool's answers (no generation) split into train and test."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet


@step
def load_recorded_data(config: RunConfig) -> tuple[
    Annotated[QuestionSet, "train_questions"],
    Annotated[ResponseTable, "pool_responses"],
    Annotated[QuestionSet, "test_questions"],
    Annotated[ResponseTable, "test_responses"],
]:
    from rgd.data.recorded import load_recorded

    data = load_recorded(config.recorded.dir, config.recorded.models)
    train_q, train_table = data.part("train")
    test_q, test_table = data.part("test")
    return (QuestionSet(tuple(train_q), (), "train", None, {"source": data.name}), train_table,
            QuestionSet(tuple(test_q), (), "test", None, {"source": data.name}), test_table)
