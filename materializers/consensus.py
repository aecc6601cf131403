"""A fitted consensus scorer and its result on the training questions: ``ConsensusArtifact.save`` / ``load``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, table
from rgd.workflow.artifacts import ConsensusArtifact


class ConsensusMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (ConsensusArtifact,)
    KIND = "consensus"

    def extract_metadata(self, data: ConsensusArtifact) -> dict[str, Any]:
        return {"n_questions": len(data.question_ids), "models": ", ".join(data.scorer.models_),
                "mean_agreement": float(data.result.agreement.mean()) if len(data.question_ids) else 0.0}

    def html(self, data: ConsensusArtifact) -> str:
        mean_score = data.result.scores.mean(axis=1) if len(data.question_ids) else np.zeros(len(data.scorer.models_))
        rows = [(m, float(s)) for m, s in zip(data.scorer.models_, mean_score)]
        rows.sort(key=lambda r: -r[1])
        return (f"<h3>consensus over {len(data.question_ids)} questions</h3>"
                f"<p>mean agreement with the majority: {float(data.result.agreement.mean()):.3f}</p>"
                + table(["model", "mean consensus score"], rows))
