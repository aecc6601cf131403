"""Typed values that pipeline steps hand to each other.

Plain containers around the library's own types; they hold what a step in another process needs and
nothing that only lives in memory (a simulated question set carries its latent truth explicitly).

Each persists itself: ``save(directory)`` writes a versioned ``meta.json`` plus NumPy files (and, for
questions, JSON lines; never pickle), ``load(directory)`` reads it back and refuses a corrupt, altered or
foreign directory with :class:`~rgd.errors.ArtifactError` naming the file. The ZenML materializers in
``materializers/`` only delegate to these.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from pydantic import ValidationError

from rgd.consensus import ConsensusResult, ConsensusScorer
from rgd.data.jsonl import read_jsonl, write_jsonl
from rgd.data.schema import Question
from rgd.data.versioned_json import atomic_file, read_npy, read_npz, read_versioned_json, write_versioned_json
from rgd.errors import ArtifactError, DataError, validation_message
from rgd.routers.base import Router

META_FILE = "meta.json"


@contextmanager
def _refusing(path: Path, what: str) -> Iterator[None]:
    """Turn any failure while rebuilding an artifact into an ArtifactError naming ``path``."""
    try:
        yield
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt artifact must never load half-way
        raise ArtifactError(f"{path}: corrupt {what} ({type(exc).__name__}: {exc})") from None


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

    # ------------------------------------------------------------------ persistence
    FORMAT = "rgd.question_set"
    #: 2: questions as JSON lines; 1 (read only): questions as Parquet, written by the first materializer
    VERSION = 2
    QUESTIONS_FILE = "questions.jsonl"
    LATENTS_FILE = "latents.npz"

    def save(self, directory: str | Path) -> Path:
        """``meta.json`` (role, generators, content hash, report), ``questions.jsonl``, ``latents.npz``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_jsonl(directory / self.QUESTIONS_FILE, (q.model_dump(mode="json") for q in self.questions))
        if self.latents is not None:
            with atomic_file(directory / self.LATENTS_FILE) as fh:
                np.savez(fh, **self.latents)
        write_versioned_json(directory / META_FILE, self.FORMAT, self.VERSION, {
            "role": self.role, "generators": list(self.generators), "n_questions": len(self),
            "content_hash": self.content_hash, "report": self.report, "has_latents": self.latents is not None,
        })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "QuestionSet":
        directory = Path(directory)
        meta_path = directory / META_FILE
        meta = read_versioned_json(meta_path, cls.FORMAT, (cls.VERSION, 1), what="question set")
        if meta["version"] == 1:
            where = directory / "questions.parquet"
            questions = _read_parquet_questions(where)
        else:
            where = directory / cls.QUESTIONS_FILE
            questions = _read_questions(where)
        with _refusing(meta_path, "question set"):
            if len(questions) != meta["n_questions"]:
                raise ArtifactError(
                    f"{where}: holds {len(questions)} questions, {META_FILE} says {meta['n_questions']}"
                )
            latents = None
            if meta.get("has_latents"):
                latents = read_npz(directory / cls.LATENTS_FILE, what="simulated latents")
            qset = cls(questions, tuple(meta["generators"]), meta["role"], latents, meta.get("report") or {})
        if qset.content_hash != meta["content_hash"]:
            raise ArtifactError(f"{where}: content hash mismatch, the stored questions were modified")
        return qset


def _read_questions(path: Path) -> tuple[Question, ...]:
    """The questions of a ``questions.jsonl``; ArtifactError naming the file and row of a bad one."""
    if not path.is_file():
        raise ArtifactError(f"{path}: missing, the saved question set is incomplete")
    out = []
    try:
        for row, obj in read_jsonl(path):
            try:
                out.append(Question.model_validate(obj))
            except ValidationError as exc:
                raise ArtifactError(f"{path}, row {row}: {validation_message(exc)}") from None
    except DataError as exc:
        raise ArtifactError(str(exc)) from None
    return tuple(out)


def _read_parquet_questions(path: Path) -> tuple[Question, ...]:
    """Format version 1 (Parquet), so question sets stored before version 2 still load (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ArtifactError(f"{path}: a version-1 question set is Parquet, which needs pyarrow") from None
    from rgd.data.schema import Provenance

    with _refusing(path, "question set"):
        cols = pq.read_table(path).to_pydict()
        return tuple(
            Question(id=cols["id"][i], subject=cols["subject"][i], text=cols["text"][i],
                     options=cols["options"][i], answer=cols["answer"][i],
                     provenance=Provenance(kind=cols["provenance_kind"][i], source=cols["provenance_source"][i],
                                           prompt_version=cols["provenance_prompt_version"][i],
                                           seed=cols["provenance_seed"][i]))
            for i in range(len(cols["id"]))
        )


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

    FORMAT = "rgd.embeddings"
    VERSION = 1
    VECTORS_FILE = "vectors.npy"

    def save(self, directory: str | Path) -> Path:
        """``vectors.npy`` (float32) and ``meta.json`` (question ids, the embedder's identity and kind)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_file(directory / self.VECTORS_FILE) as fh:
            np.save(fh, np.asarray(self.vectors, dtype=np.float32))
        write_versioned_json(directory / META_FILE, self.FORMAT, self.VERSION, {
            "question_ids": list(self.question_ids), "embedder_identity": self.embedder_identity,
            "embedder_kind": self.embedder_kind,
        })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "EmbeddingMatrix":
        directory = Path(directory)
        meta_path, vectors_path = directory / META_FILE, directory / cls.VECTORS_FILE
        meta = read_versioned_json(meta_path, cls.FORMAT, cls.VERSION, what="embedding matrix")
        vectors = read_npy(vectors_path, what="embedding matrix")
        if vectors.dtype.kind != "f" or not np.isfinite(vectors).all():
            raise ArtifactError(f"{vectors_path}: holds NaN, inf or non-float values ({vectors.dtype})")
        with _refusing(vectors_path, "embedding matrix"):
            return cls(tuple(meta["question_ids"]), vectors.astype(np.float32, copy=False), meta["embedder_identity"],
                       meta["embedder_kind"])


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

    FORMAT = "rgd.consensus"
    VERSION = 1
    ARRAYS_FILE = "arrays.npz"

    def save(self, directory: str | Path) -> Path:
        """``arrays.npz`` (the result) and ``meta.json`` (the fitted scorer, the question ids)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_file(directory / self.ARRAYS_FILE) as fh:
            np.savez(fh, **self.arrays())
        write_versioned_json(directory / META_FILE, self.FORMAT, self.VERSION, {
            "scorer": self.scorer.to_dict(), "question_ids": list(self.question_ids),
        })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "ConsensusArtifact":
        directory = Path(directory)
        meta_path, arrays_path = directory / META_FILE, directory / cls.ARRAYS_FILE
        meta = read_versioned_json(meta_path, cls.FORMAT, cls.VERSION, what="consensus")
        arrays = read_npz(arrays_path, what="consensus", required=cls.ARRAYS)
        with _refusing(meta_path, "consensus"):
            art = cls.from_parts(meta["scorer"], arrays, meta["question_ids"])
        q, m = len(art.question_ids), len(art.scorer.models_)
        r = art.result
        shapes = {"majority": (q,), "agreement": (q,), "scores": (m, q), "z": (m, q), "weights": (m, q)}
        bad = [name for name, shape in shapes.items() if getattr(r, name).shape != shape]
        if r.posterior.ndim != 2 or r.posterior.shape[0] != q:
            bad.insert(0, "posterior")
        if bad:
            raise ArtifactError(f"{arrays_path}: arrays {bad} do not match {q} questions and {m} models")
        return art


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

    FORMAT = "rgd.router_set"
    VERSION = 1

    def save(self, directory: str | Path) -> Path:
        """One sub-directory per router (``Router.save``) and ``meta.json`` (their names, the primary)."""
        directory = Path(directory)
        for name in self.routers:
            _check_router_dir_name(name, DataError)
        directory.mkdir(parents=True, exist_ok=True)
        for name, router in self.routers.items():
            router.save(directory / name)
        write_versioned_json(directory / META_FILE, self.FORMAT, self.VERSION, {
            "primary": self.primary, "routers": list(self.routers),
        })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "RouterSet":
        directory = Path(directory)
        meta_path = directory / META_FILE
        meta = read_versioned_json(meta_path, cls.FORMAT, cls.VERSION, what="router set")
        names = meta.get("routers")
        if not isinstance(names, list) or not names:
            raise ArtifactError(f"{meta_path}: malformed router set (no list of routers)")
        for name in names:
            _check_router_dir_name(name, ArtifactError, meta_path)
        routers = {name: Router.load(directory / name) for name in names}
        with _refusing(meta_path, "router set"):
            return cls(routers, meta["primary"])


def _check_router_dir_name(name: Any, error: type[Exception], where: Path | None = None) -> None:
    """A router's name is its sub-directory: one plain path component."""
    plain = isinstance(name, str) and name not in ("", ".", "..", META_FILE) and not set(name) & set("/\\")
    if not plain:
        prefix = f"{where}: " if where is not None else ""
        raise error(f"{prefix}router name {name!r} cannot name a sub-directory")
