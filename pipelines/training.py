"""The RGD training pipeline: generated data in, a registered (and possibly promoted) router out.

    generate_questions ─┬─> respond_<model> (one per pool model) ─> filter_questions ─> score_consensus
    load_test_set ──────┘                                        embed_questions ─> train_router
                                                  evaluate_router (real test set) ─> register_router

Order: the pool answers every generated question *before* the filter, because filter property (b) (the
question separates the pool: answer entropy, not everyone right or wrong) and the consensus-agreement part
of (a) need the pool's answers; the generator's own re-answers (a) are produced by generate_questions.
Filtering first would save at most the dropped fraction of answering and would need a second pass for (b).
Each respond invocation also answers the test questions, so evaluation needs no extra GPU step.
"""

from __future__ import annotations

from zenml import pipeline

from rgd.config.run_config import RunConfig, model_slug
from steps import (
    embed_questions,
    evaluate_router,
    filter_questions,
    generate_questions,
    load_test_set,
    register_router,
    respond,
    score_consensus,
    train_router,
)


@pipeline(name="rgd_training")
def rgd_training(config: RunConfig) -> None:
    generated, self_answers = generate_questions(config=config.for_step("generate_questions"))
    test = load_test_set(config=config.for_step("load_test_set"))
    respond_cfg = config.for_step("respond")
    train_parts, test_parts = [], []
    for model in config.pool_model_names():
        slug = model_slug(model)
        invocation = respond.with_options(substitutions={"model": slug})
        train_r, test_r = invocation(config=respond_cfg, model=model, generated=generated, test=test,
                                     id=f"respond_{slug}")
        train_parts.append(train_r)
        test_parts.append(test_r)
    kept, pool_responses, report = filter_questions(config=config.for_step("filter_questions"), generated=generated,
                                                    train_responses=train_parts, self_answers=self_answers)
    consensus = score_consensus(config=config.for_step("score_consensus"), pool_responses=pool_responses)
    embedder, train_x, test_x = embed_questions(config=config.for_step("embed_questions"), train=kept, test=test)
    routers, bundle = train_router(config=config.for_step("train_router"), pool_responses=pool_responses,
                                   train_embeddings=train_x, consensus=consensus, embedder=embedder)
    evaluation = evaluate_router(config=config.for_step("evaluate_router"), routers=routers,
                                 test_responses=test_parts, test_embeddings=test_x, consensus=consensus)
    register_router(config=config, router_bundle=bundle, evaluation=evaluation, train_questions=kept,
                    train_embeddings=train_x, filter_report=report)
