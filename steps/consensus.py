"""score_consensus: confidence-weighted consensus of the pool on the kept questions (no labels); it takes the
run's ``consensus`` section and the seed."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import ConsensusSpec
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import ConsensusArtifact
from rgd.workflow.curate import consensus_stage


@step
def score_consensus(consensus: ConsensusSpec, seed: int,
                    pool_responses: ResponseTable) -> Annotated[ConsensusArtifact, "consensus"]:
    return consensus_stage(consensus, pool_responses, seed)
