"""A run's training set (table, embeddings, consensus, generator keys): ``TrainingData.save`` / ``load``."""

from __future__ import annotations

from typing import Any, ClassVar

from materializers.base import DirectoryMaterializer, table
from rgd.workflow.training_data import TrainingData


class TrainingDataMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (TrainingData,)
    KIND = "training set"

    def extract_metadata(self, data: TrainingData) -> dict[str, Any]:
        return {"n_questions": data.table.n_questions, "models": ", ".join(data.table.models),
                "embedder": data.embeddings.embedder_identity, "generator_keys": data.generator_keys is not None}

    def html(self, data: TrainingData) -> str:
        rows = [("questions", data.table.n_questions), ("pool models", data.table.n_models),
                ("embedder", data.embeddings.embedder_identity),
                ("keys", "the generator's" if data.generator_keys is not None else "true keys (reference only)")]
        return "<h3>training set</h3>" + table(["", "value"], rows)
