"""train_router: the configured router and the baselines, fitted on the run's one training set (which it
builds and hands on to evaluate_router). It takes the run's ``router`` section and the seed, whether the
training keys are a generator's and the pool's costs (both from the run's source), nothing else."""

from __future__ import annotations

from typing import Annotated, Optional, Union

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RouterSpec
from rgd.data.response_table import ResponseTable
from rgd.embedding.base import Embedder
from rgd.routers.bundle import RouterBundle
from rgd.routers.coverage import Coverage
from rgd.routers.policy import CostPolicy
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet
from rgd.workflow.costs import policy_stage
from rgd.workflow.train import train_stage
from rgd.workflow.training_data import TrainingData


@step
def train_router(router: RouterSpec, seed: int, generated: bool, costs: Optional[Union[str, dict[str, float]]],
                 config_name: str, pool_responses: ResponseTable, train_embeddings: EmbeddingMatrix,
                 consensus: ConsensusArtifact, embedder: Embedder) -> tuple[
    Annotated[RouterSet, "routers"],
    Annotated[RouterBundle, "router_bundle"],
    Annotated[TrainingData, "training_data"],
]:
    """``generated``: the keys are a generator's (:meth:`TrainingData.build`); ``costs``: the source's
    (:meth:`rgd.workflow.sources.Source.step_costs`), None for none."""
    data = TrainingData.build(pool_responses, train_embeddings, consensus, generated=generated)
    routers = train_stage(router, data, seed)
    bundle = RouterBundle(routers.main, embedder, {"router": routers.primary, "config_name": config_name,
                                                   "n_train": pool_responses.n_questions},
                          coverage=Coverage.fit(train_embeddings.vectors, seed=seed))
    policy = policy_stage(routers, data, costs, router_params=router.params, seed=seed)
    if policy is not None:  # the pool has costs: the served model takes a cost weight per request
        bundle.policy = CostPolicy.from_dict(policy)
    return routers, bundle, data
