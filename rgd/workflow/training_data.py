"""A run's training set as one value: what every router is fitted on, what the cost policy is calibrated on
and what the evaluation's label-free estimate is fitted on.

:class:`TrainingData` holds the pool's answers to the training questions, their embeddings, the consensus
and the generator's keys; :meth:`TrainingData.build` is the one place it is put together and the one place
it is decided which keys are the generator's. The train step builds it and hands it to the evaluate step
(a ZenML artifact: ``save`` / ``load``, JSON + NumPy, never pickle); ``evaluate-recorded`` builds it the same
way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.data.versioned_json import atomic_file, read_npy, read_versioned_json, write_versioned_json
from rgd.errors import ArtifactError, DataError
from rgd.routers.base import TrainingSet
from rgd.workflow.artifacts import META_FILE, ConsensusArtifact, EmbeddingMatrix


@dataclass(frozen=True)
class TrainingData:
    """The pool's answers to the training questions, their embeddings, the consensus, the generator's keys."""

    table: ResponseTable
    embeddings: EmbeddingMatrix
    consensus: ConsensusArtifact
    #: (Q,) the generator's key per question (-1: none), or None: no generator's key is known (see :meth:`build`)
    generator_keys: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.embeddings.question_ids != self.table.question_ids or self.consensus.question_ids != self.table.question_ids:
            raise DataError("embeddings, consensus and responses are not aligned on the same training questions")
        self.training_set  # noqa: B018 - the routers' own checks (key and embedding shapes), now

    @classmethod
    def build(cls, table: ResponseTable, embeddings: EmbeddingMatrix, consensus: ConsensusArtifact, *,
              generated: bool) -> "TrainingData":
        """The training set of ``table``'s questions. ``generated``: their keys are a generator's (questions a
        generator wrote, or a recorded pool's questions keyed from a generator's answers): label-using
        baselines learn from them and the label-free router may weigh the generator as one more voter.
        Otherwise the keys are a benchmark's TRUE keys: only label-using baselines see them (as a
        reference), never as data."""
        return cls(table, embeddings, consensus, np.asarray(table.answers) if generated else None)

    @property
    def training_set(self) -> TrainingSet:
        """What a router is fitted on (:class:`rgd.routers.base.TrainingSet`)."""
        return TrainingSet(self.table, self.embeddings.vectors, self.consensus.result, self.generator_keys)

    # ------------------------------------------------------------------ persistence
    FORMAT = "rgd.training_data"
    VERSION = 1
    #: each part in a sub-directory of its name, written and read by its own type
    PART_TYPES = {"table": ResponseTable, "embeddings": EmbeddingMatrix, "consensus": ConsensusArtifact}
    KEYS_FILE = "generator_keys.npy"

    def save(self, directory: str | Path) -> Path:
        """One sub-directory per part (each its type's own ``save``), ``generator_keys.npy`` when there are
        keys, and ``meta.json``."""
        for part in self.PART_TYPES:
            getattr(self, part).save(Path(directory) / part)
        if self.generator_keys is not None:
            with atomic_file(Path(directory) / self.KEYS_FILE) as fh:
                np.save(fh, np.asarray(self.generator_keys, dtype=np.int8))
        meta = {"n_questions": self.table.n_questions, "has_generator_keys": self.generator_keys is not None}
        return write_versioned_json(Path(directory) / META_FILE, self.FORMAT, self.VERSION, meta).parent

    @classmethod
    def load(cls, directory: str | Path) -> "TrainingData":
        meta_path = Path(directory) / META_FILE
        meta = read_versioned_json(meta_path, cls.FORMAT, cls.VERSION, what="training set")
        parts = {part: kind.load(meta_path.parent / part) for part, kind in cls.PART_TYPES.items()}
        keys_path = meta_path.parent / cls.KEYS_FILE
        keys = read_npy(keys_path, what="generator keys") if meta.get("has_generator_keys") else None
        if parts["table"].n_questions != meta.get("n_questions"):
            raise ArtifactError(f"{meta_path}: says {meta.get('n_questions')} questions, the stored table holds "
                                f"{parts['table'].n_questions}")
        try:
            return cls(**parts, generator_keys=keys)
        except (DataError, ValueError) as exc:
            raise ArtifactError(f"{meta_path.parent}: inconsistent training set ({exc})") from None
