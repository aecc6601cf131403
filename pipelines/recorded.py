"""Train and evaluate from a recorded-responses directory (e.g. ../shared/data/mmlu_pro): no generation.

    load_recorded_data ─> score_consensus ─> embed_questions ─> train_router ─> evaluate_router ─> register_router
"""

from __future__ import annotations

from zenml import pipeline

from rgd.config.run_config import RunConfig
from steps import embed_questions, evaluate_router, load_recorded_data, register_router, score_consensus, train_router


@pipeline(name="rgd_recorded")
def rgd_recorded(config: RunConfig) -> None:
    train_q, train_table, test_q, test_table = load_recorded_data(config=config.for_step("load_recorded_data"))
    consensus = score_consensus(config=config.for_step("score_consensus"), pool_responses=train_table)
    embedder, train_x, test_x = embed_questions(config=config.for_step("embed_questions"), train=train_q, test=test_q)
    routers, bundle = train_router(config=config.for_step("train_router"), pool_responses=train_table,
                                   train_embeddings=train_x, consensus=consensus, embedder=embedder)
    evaluation = evaluate_router(config=config.for_step("evaluate_router"), routers=routers,
                                 test_responses=[test_table], test_embeddings=test_x, consensus=consensus)
    register_router(config=config, router_bundle=bundle, evaluation=evaluation, train_questions=train_q,
                    train_embeddings=train_x)
