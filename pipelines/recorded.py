"""Train and evaluate from a recorded-responses directory (e.g. ../shared/data/mmlu_pro): no generation.

    load_recorded_data ─> score_consensus ─> embed_questions ─> train_router ─> evaluate_router ─> register_router
"""

from __future__ import annotations

from zenml import pipeline

from pipelines.learning import learn_and_register
from rgd.config.run_config import RunConfig
from rgd.workflow.sources import source_for
from steps.recorded import data_input, load_recorded_data


@pipeline(name="rgd_recorded")
def rgd_recorded(config: RunConfig) -> None:
    source = source_for(config)
    loader, data_sha256 = data_input(load_recorded_data, *source.input_files().pool)
    train_q, train_table, test_q, test_table = loader(recorded=config.recorded, data_sha256=data_sha256)
    learn_and_register(config, source, train_table, train_q, test_q, [test_table])
