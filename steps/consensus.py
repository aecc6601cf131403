"""score_consensus: confidence-weighted consensus of the pool on the kept questions (no labels)."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from rgd.workflow import stages
from rgd.workflow.artifacts import ConsensusArtifact
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable


@step
def score_consensus(config: RunConfig, pool_responses: ResponseTable) -> Annotated[ConsensusArtifact, "consensus"]:
    return stages.consensus_stage(config, pool_responses)
