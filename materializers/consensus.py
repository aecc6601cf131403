"""A fitted consensus scorer (JSON) and its result on the training questions (NumPy)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, read_json, table, write_json
from rgd.workflow.artifacts import ConsensusArtifact

FORMAT, VERSION = "rgd.consensus", 1


class ConsensusMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (ConsensusArtifact,)
    KIND = "consensus"

    def write(self, data: ConsensusArtifact, directory: str) -> None:
        np.savez(os.path.join(directory, "arrays.npz"), **data.arrays())
        write_json(directory, "meta.json", {"format": FORMAT, "version": VERSION, "scorer": data.scorer.to_dict(),
                                            "question_ids": list(data.question_ids)})

    def read(self, directory: str, data_type: type) -> ConsensusArtifact:
        meta = read_json(directory, "meta.json", FORMAT, VERSION)
        with np.load(os.path.join(directory, "arrays.npz"), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return ConsensusArtifact.from_parts(meta["scorer"], arrays, meta["question_ids"])

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
