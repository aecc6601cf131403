"""The steps both pipelines run once they have their data: consensus, embeddings, the routers, their
evaluation and registration. Each step takes its own config section (or a value the run's source gives),
so that ZenML's cache, which keys a step on its inputs, reruns exactly the steps a change affects.

    score_consensus ─> embed_questions ─> train_router ─> evaluate_router ─> register_router
"""

from __future__ import annotations

from typing import Any

from rgd.config.run_config import RunConfig
from rgd.workflow.sources import Source
from steps.consensus import score_consensus
from steps.embed import embed_questions
from steps.evaluate import evaluate_router
from steps.register import register_router
from steps.train import train_router


def learn_and_register(config: RunConfig, source: Source, pool_responses: Any, train_questions: Any,
                       test_questions: Any, test_responses: list[Any], *, holdout: Any = None,
                       holdout_responses: Any = None, filter_report: Any = None) -> None:
    """Invoke the shared steps on the pool's training answers and the train and test questions (step outputs)."""
    consensus = score_consensus(consensus=config.consensus, seed=config.seed, pool_responses=pool_responses)
    embedder, train_x, test_x = embed_questions(embedder=config.embedder, train=train_questions, test=test_questions)
    routers, bundle, training = train_router(router=config.router, seed=config.seed, generated=source.generated,
                                             costs=source.step_costs(), config_name=config.name, pool_responses=pool_responses,
                                             train_embeddings=train_x, consensus=consensus, embedder=embedder)
    evaluation = evaluate_router(seed=config.seed, routers=routers, router_bundle=bundle, training_data=training,
                                 test_responses=test_responses, test_embeddings=test_x, holdout=holdout,
                                 holdout_responses=holdout_responses)
    register_router(config=config, router_bundle=bundle, evaluation=evaluation, train_questions=train_questions,
                    train_embeddings=train_x, filter_report=filter_report, training_data=training,
                    test_questions=test_questions, test_responses=test_responses, holdout=holdout,
                    holdout_responses=holdout_responses)
