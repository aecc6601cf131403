"""Typed values that pipeline steps hand to each other (each has a ZenML materializer in ``materializers/``).

Plain containers around the library's own types; they hold what a step in another process needs and
nothing that only lives in memory (a simulated question set carries its latent truth explicitly).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from rgd.consensus import ConsensusResult, ConsensusScorer
from rgd.errors import DataError
from rgd.routers.base import Router
from rgd.data.schema import Question


def content_hash(questions: Sequence[Question]) -> str:
    """sha256 over ids, texts, options and keys: two question sets with the same hash are the same data."""
    h = hashlib.sha256()
    for q in questions:
        h.update(json.dumps([q.id, q.subject, q.text, q.options, q.answer], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True)
class QuestionSet:
    """Questions with where they came from; ``latents`` only for questions of a simulated world."""

    questions: tuple[Question, ...]
    generators: tuple[str, ...] = ()
    role: str = "generated"  # generated | filtered | test | train
    latents: dict[str, np.ndarray] | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"question set ({self.role}) repeats question id {dup!r}")

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def texts(self) -> list[str]:
        return [q.text for q in self.questions]

    @property
    def subjects(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for q in self.questions:
            out[q.subject] = out.get(q.subject, 0) + 1
        return out

    @property
    def content_hash(self) -> str:
        return content_hash(self.questions)

    def subset(self, ids: Sequence[str], role: str | None = None) -> "QuestionSet":
        """The questions with these ids (in that order), latents aligned."""
        pos = {q.id: i for i, q in enumerate(self.questions)}
        try:
            idx = np.array([pos[i] for i in ids], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"question {exc.args[0]!r} is not in the {self.role} set") from None
        lat = None if self.latents is None else {
            k: (v if k == "world_fingerprint" else np.asarray(v)[idx]) for k, v in self.latents.items()}
        return QuestionSet(tuple(self.questions[i] for i in idx), self.generators, role or self.role, lat)


@dataclass(frozen=True)
class EmbeddingMatrix:
    """Unit-norm question embeddings aligned with question ids, and the embedder that made them."""

    question_ids: tuple[str, ...]
    vectors: np.ndarray  # (n, d) float32
    embedder_identity: str
    embedder_kind: str

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.question_ids):
            raise DataError(f"embeddings {self.vectors.shape} do not match {len(self.question_ids)} question ids")


@dataclass(frozen=True)
class ConsensusArtifact:
    """A fitted consensus scorer and its result on the training questions."""

    scorer: ConsensusScorer
    result: ConsensusResult
    question_ids: tuple[str, ...]

    ARRAYS = ("posterior", "majority", "agreement", "scores", "z", "weights")

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self.result, name) for name in self.ARRAYS}

    @classmethod
    def from_parts(cls, scorer_doc: dict, arrays: dict[str, np.ndarray], ids: Sequence[str]) -> "ConsensusArtifact":
        missing = [a for a in cls.ARRAYS if a not in arrays]
        if missing:
            raise DataError(f"consensus artifact lacks arrays {missing}")
        return cls(ConsensusScorer.from_dict(scorer_doc), ConsensusResult(**{a: arrays[a] for a in cls.ARRAYS}),
                   tuple(ids))


@dataclass(frozen=True)
class RouterSet:
    """The router that gets registered (``primary``) and the baselines trained on the same data."""

    routers: dict[str, Router]
    primary: str

    def __post_init__(self) -> None:
        if self.primary not in self.routers:
            raise DataError(f"primary router {self.primary!r} is not among {sorted(self.routers)}")

    @property
    def main(self) -> Router:
        return self.routers[self.primary]
