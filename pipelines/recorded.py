"""Train and evaluate from a recorded-responses directory (e.g. ../shared/data/mmlu_pro): no generation.

    load_recorded_data ─> score_consensus ─> embed_questions ─> train_router ─> evaluate_router ─> register_router
"""

from __future__ import annotations

from zenml import pipeline

from rgd.config.run_config import RunConfig
from rgd.workflow.sources import source_for
from steps import names
from steps.consensus import score_consensus
from steps.embed import embed_questions
from steps.evaluate import evaluate_router
from steps.names import config_for
from steps.recorded import data_input, load_recorded_data
from steps.register import register_router
from steps.train import train_router


@pipeline(name="rgd_recorded")
def rgd_recorded(config: RunConfig) -> None:
    loader, data_sha256 = data_input(load_recorded_data, *source_for(config).input_files().pool)
    train_q, train_table, test_q, test_table = loader(config=config_for(config, names.RECORDED_STEP),
                                                      data_sha256=data_sha256)
    consensus = score_consensus(config=config_for(config, names.CONSENSUS_STEP), pool_responses=train_table)
    embedder, train_x, test_x = embed_questions(config=config_for(config, names.EMBED_STEP), train=train_q, test=test_q)
    routers, bundle, training = train_router(config=config_for(config, names.TRAIN_STEP), pool_responses=train_table,
                                             train_embeddings=train_x, consensus=consensus, embedder=embedder)
    evaluation = evaluate_router(config=config_for(config, names.EVALUATE_STEP), routers=routers, router_bundle=bundle,
                                 training_data=training, test_responses=[test_table], test_embeddings=test_x)
    register_router(config=config, router_bundle=bundle, evaluation=evaluation, train_questions=train_q,
                    train_embeddings=train_x)
