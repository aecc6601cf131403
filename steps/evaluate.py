"""evaluate_router: top-1 / top-3 accuracy of the router and every baseline on the real test set."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet
from rgd.workflow.evaluate import evaluate_stage
from rgd.workflow.respond import merge_pool


@step
def evaluate_router(config: RunConfig, routers: RouterSet, test_responses: list[ResponseTable],
                    test_embeddings: EmbeddingMatrix, consensus: ConsensusArtifact
                    ) -> Annotated[dict[str, Any], "evaluation"]:
    test_table = merge_pool(test_responses, list(routers.main.models_))
    evaluation = evaluate_stage(routers, test_table, test_embeddings, consensus)
    log_metadata(metadata={name: r["top1"] for name, r in evaluation["routers"].items()})
    return evaluation
