"""train_router: the configured router and the baselines, fitted on the run's one training set (which it
builds and hands on to evaluate_router)."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.embedding.base import Embedder
from rgd.routers.bundle import RouterBundle
from rgd.routers.policy import CostPolicy
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet
from rgd.workflow.costs import policy_stage
from rgd.workflow.train import train_stage, training_data
from rgd.workflow.training_data import TrainingData


@step
def train_router(config: RunConfig, pool_responses: ResponseTable, train_embeddings: EmbeddingMatrix,
                 consensus: ConsensusArtifact, embedder: Embedder) -> tuple[
    Annotated[RouterSet, "routers"],
    Annotated[RouterBundle, "router_bundle"],
    Annotated[TrainingData, "training_data"],
]:
    data = training_data(config, pool_responses, train_embeddings, consensus)
    routers = train_stage(config, data)
    bundle = RouterBundle(routers.main, embedder, {"router": routers.primary, "config_name": config.name,
                                                   "n_train": pool_responses.n_questions})
    policy = policy_stage(config, routers, data)
    if policy is not None:  # the pool has costs: the served model takes a cost weight per request
        bundle.policy = CostPolicy.from_dict(policy)
    return routers, bundle, data
