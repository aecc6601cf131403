"""train_router: the configured router (CASCAL) and the baselines, on the same generated data."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from rgd.workflow import stages
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet
from rgd.config.run_config import RunConfig
from rgd.embedding.base import Embedder
from rgd.data.response_table import ResponseTable
from rgd.routers.bundle import RouterBundle


@step
def train_router(config: RunConfig, pool_responses: ResponseTable, train_embeddings: EmbeddingMatrix,
                 consensus: ConsensusArtifact, embedder: Embedder) -> tuple[
    Annotated[RouterSet, "routers"],
    Annotated[RouterBundle, "router_bundle"],
]:
    routers = stages.train_stage(config, pool_responses, train_embeddings, consensus)
    bundle = RouterBundle(routers.main, embedder, {"router": routers.primary, "config_name": config.name,
                                                   "n_train": pool_responses.n_questions})
    return routers, bundle
