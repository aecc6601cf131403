"""Question embeddings (``EmbeddingMatrix.save`` / ``load``) and fitted embedders (``Embedder.save`` / ``load``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, table
from rgd.embedding.base import Embedder
from rgd.workflow.artifacts import EmbeddingMatrix


class EmbeddingMatrixMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (EmbeddingMatrix,)
    KIND = "embeddings"

    def extract_metadata(self, data: EmbeddingMatrix) -> dict[str, Any]:
        return {"n_questions": int(data.vectors.shape[0]), "dim": int(data.vectors.shape[1]),
                "embedder": data.embedder_identity}

    def html(self, data: EmbeddingMatrix) -> str:
        norms = np.linalg.norm(data.vectors, axis=1) if len(data.vectors) else np.zeros(0)
        rows = [("questions", data.vectors.shape[0]), ("dimension", data.vectors.shape[1]),
                ("embedder", data.embedder_identity),
                ("mean norm", float(norms.mean()) if norms.size else 0.0)]
        return "<h3>question embeddings</h3>" + table(["", "value"], rows)


class EmbedderMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Embedder,)
    ASSOCIATED_ARTIFACT_TYPE = DirectoryMaterializer.ASSOCIATED_ARTIFACT_TYPE.MODEL
    KIND = "embedder"

    def extract_metadata(self, data: Embedder) -> dict[str, Any]:
        return {"kind": data.kind, "identity": data.identity, "dim": int(data.dim)}

    def html(self, data: Embedder) -> str:
        return "<h3>fitted embedder</h3>" + table(["", "value"], [("kind", data.kind), ("identity", data.identity),
                                                                   ("dimension", data.dim)])
