"""Question embeddings (NumPy + JSON) and fitted embedders (the embedder's own JSON + NumPy format)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, read_json, table, write_json
from rgd.workflow.artifacts import EmbeddingMatrix
from rgd.embedding.base import Embedder
from rgd.errors import ArtifactError

FORMAT, VERSION = "rgd.embeddings", 1


class EmbeddingMatrixMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (EmbeddingMatrix,)
    KIND = "embeddings"

    def write(self, data: EmbeddingMatrix, directory: str) -> None:
        np.save(os.path.join(directory, "vectors.npy"), np.asarray(data.vectors, dtype=np.float32))
        write_json(directory, "meta.json", {"format": FORMAT, "version": VERSION, "question_ids":
                                            list(data.question_ids), "embedder_identity": data.embedder_identity,
                                            "embedder_kind": data.embedder_kind})

    def read(self, directory: str, data_type: type) -> EmbeddingMatrix:
        meta = read_json(directory, "meta.json", FORMAT, VERSION)
        vectors = np.load(os.path.join(directory, "vectors.npy"), allow_pickle=False)
        if not np.isfinite(vectors).all():
            raise ArtifactError("vectors.npy holds NaN or inf")
        return EmbeddingMatrix(tuple(meta["question_ids"]), vectors, meta["embedder_identity"], meta["embedder_kind"])

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

    def write(self, data: Embedder, directory: str) -> None:
        data.save(directory)

    def read(self, directory: str, data_type: type) -> Embedder:
        return Embedder.load(directory)

    def extract_metadata(self, data: Embedder) -> dict[str, Any]:
        return {"kind": data.kind, "identity": data.identity, "dim": int(data.dim)}

    def html(self, data: Embedder) -> str:
        return "<h3>fitted embedder</h3>" + table(["", "value"], [("kind", data.kind), ("identity", data.identity),
                                                                   ("dimension", data.dim)])
