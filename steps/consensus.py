"""score_consensus: confidence-weighted consensus of the pool on the kept questions (no labels)."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import ConsensusArtifact
from rgd.workflow.curate import consensus_stage


@step
def score_consensus(config: RunConfig, pool_responses: ResponseTable) -> Annotated[ConsensusArtifact, "consensus"]:
    return consensus_stage(config, pool_responses)
