"""evaluate_router: top-1 / top-3 accuracy of the router and every baseline on the real test set (when the run
has one), their label-free estimate on the held-out generated questions (or on the test set, keys hidden), and,
when the pool has costs and the run a labelled test set, the cost-accuracy curve of the registered router."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.data.response_table import ResponseTable
from rgd.routers.bundle import RouterBundle
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet, RouterSet
from rgd.workflow.evaluate import evaluate_stage
from rgd.workflow.respond import merge_pool
from rgd.workflow.training_data import TrainingData


@step
def evaluate_router(seed: int, routers: RouterSet, router_bundle: RouterBundle, training_data: TrainingData,
                    test_responses: list[ResponseTable], test_embeddings: EmbeddingMatrix,
                    holdout: Optional[QuestionSet] = None, holdout_responses: Optional[ResponseTable] = None,
                    ) -> Annotated[dict[str, Any], "evaluation"]:
    """``router_bundle``: the registered router's embedder (it embeds the held-out questions) and its cost
    policy (fitted by train_router where the pool has costs: the cost curve's costs and the router's policy)."""
    from rgd.embedding import embed_questions
    from rgd.home import embedding_cache_dir

    test_table = merge_pool(test_responses, list(routers.main.models_))
    embedder = router_bundle.embedder
    holdout_x = None
    if holdout is not None and len(holdout):
        holdout_x = EmbeddingMatrix(tuple(holdout.ids), embed_questions(embedder, holdout.texts, embedding_cache_dir()),
                                    embedder.identity, embedder.kind)
    policy = None if router_bundle.policy is None else router_bundle.policy.to_dict()
    evaluation = evaluate_stage(routers, test_table, test_embeddings, training_data, holdout=holdout,
                                holdout_table=holdout_responses, holdout_x=holdout_x,
                                costs=None if policy is None else policy["costs"], policy=policy, seed=seed)
    metadata = {name: r["top1"] for name, r in evaluation["routers"].items()}
    for name, r in evaluation.get("estimate", {}).get("routers", {}).items():
        metadata[f"{name}.estimated_top1"] = r["top1"]
    log_metadata(metadata=metadata)
    return evaluation
