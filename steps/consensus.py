"""score_consensus: confidence-weighted consensus of the pool on the kept questions (no labels)."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from rgd import stages
from rgd.artifacts import ConsensusArtifact
from rgd.config import RunConfig
from rgd.response_table import ResponseTable


@step
def score_consensus(config: RunConfig, pool_responses: ResponseTable) -> Annotated[ConsensusArtifact, "consensus"]:
    return stages.consensus_stage(config, pool_responses)
