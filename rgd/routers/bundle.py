"""A trained router packaged with the embedder it was trained with, so raw question text can be routed.

A :class:`RouterBundle` is what gets versioned and served: the router (``Router.save``), the fitted
embedder (``Embedder.save``), the router's cost policy where its pool had costs
(:class:`~rgd.routers.policy.CostPolicy`) and free-form metadata, in one directory::

    bundle/
      manifest.json     format name + version, router/embedder summary, metadata, sha256 of every file
      router/           router.json + arrays.npz
      embedder/         embedder.json (+ the fitted state of fitted embedders)
      cost_policy.json  the cost policy (only where there is one)
      coverage/         coverage.json + reference.npz: the training questions' embeddings (a sample) and the
                        out-of-distribution threshold (:mod:`rgd.routers.coverage`; absent in bundles written before it)

A bundle written before the policy was a field of its own keeps it in its metadata under ``"cost_policy"``;
it loads the same. :meth:`RouterBundle.rank` is the one ranking every caller serves (the pyfunc model,
``rgd route`` through it, the gateway): the router's own at cost weight 0, the policy's above, refused
(:class:`~rgd.routers.policy.CostWeightError`) without one. :meth:`RouterBundle.out_of_distribution` says
which questions are far from every training question (:class:`~rgd.routers.coverage.Coverage`, fitted at
training time); a bundle without coverage never flags one.

Everything is JSON or NumPy (never pickle). :meth:`RouterBundle.load` checks the manifest's format and
version, refuses missing, extra or altered files (their sha256 must match the manifest) before any of
them is parsed, and then checks that router, embedder and manifest agree; any mismatch raises
:class:`~rgd.errors.ArtifactError`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from rgd.data.versioned_json import read_versioned_json, write_text_atomic, write_versioned_json
from rgd.errors import ArtifactError, ParameterError, WriteError
from rgd.routers.coverage import Coverage, Distribution, no_coverage
from rgd.routers.policy import (
    POLICY_FORMAT,
    POLICY_METADATA_KEY,
    POLICY_VERSION,
    CostPolicy,
    accepted_cost_weight,
    rank_scores,
)

BUNDLE_FORMAT = "rgd.router_bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ROUTER_DIR = "router"
EMBEDDER_DIR = "embedder"
POLICY_FILE = "cost_policy.json"
COVERAGE_DIR = "coverage"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _bundle_files(directory: Path) -> list[str]:
    """Every file under ``directory`` except the manifest, as sorted POSIX relative paths."""
    out = []
    for p in directory.rglob("*"):
        if p.is_symlink():
            raise ArtifactError(f"{directory}: bundle holds a symbolic link {p.relative_to(directory).as_posix()!r}")
        if p.is_file():
            rel = p.relative_to(directory).as_posix()
            if rel != MANIFEST_FILE:
                out.append(rel)
    return sorted(out)


def content_hash(file_hashes: dict[str, str]) -> str:
    """One sha256 over the (path, file hash) pairs: the bundle's content identity."""
    h = hashlib.sha256()
    for rel in sorted(file_hashes):
        h.update(rel.encode("utf-8") + b"\0" + file_hashes[rel].encode("ascii") + b"\n")
    return h.hexdigest()


def unwrap_embedder(embedder: Any) -> Any:
    """The embedder that holds the state (a ``CachedEmbedder`` wraps one; the cache is not part of it)."""
    inner = getattr(embedder, "inner", None)
    return inner if inner is not None else embedder


#: the warning of a question whose embedding is zero (empty, or no term the embedder knows: TF-IDF)
BLANK_QUERY_WARNING = ("the question shares nothing with what the router was trained on (its embedding is "
                       "zero: empty, or no known term): the ranking and subject are the router's default for "
                       "any question, not an estimate for this one")


def query_warnings(x: np.ndarray) -> list[str | None]:
    """Per embedded query: :data:`BLANK_QUERY_WARNING` where its embedding is all zeros, else None."""
    known = np.asarray(x).any(axis=1)  # a nonzero entry (a NaN counts, as it did as `!= 0`)
    return [None if k else BLANK_QUERY_WARNING for k in known.tolist()]


class Scored(NamedTuple):
    """What the router says about embedded queries, both (n, M): its ``scores``, and the ``correctness`` scores
    a cost policy calibrates (``Router.correctness_scores``; the scores themselves unless the bundle has a
    policy and the router its own)."""

    scores: np.ndarray
    correctness: np.ndarray


class Ranking(NamedTuple):
    """Both (n, M): pool indices per query, best first, and per model its router score (cost weight 0) or its
    estimated probability of being right (above 0)."""

    order: np.ndarray
    values: np.ndarray


@dataclass
class RouterBundle:
    """A fitted router + the fitted embedder that produced its training embeddings + its cost policy (None:
    the pool had no costs, only cost weight 0 is served) + metadata + its coverage of the training questions
    (None: never flags a question out of distribution)."""

    router: Any  # rgd.routers.base.Router
    embedder: Any  # rgd.embedding.base.Embedder
    metadata: dict[str, Any] = field(default_factory=dict)
    #: sha256 over every file, set by ``save`` and ``load``
    content_sha256: str | None = None
    policy: CostPolicy | None = None
    coverage: Coverage | None = None

    def __post_init__(self) -> None:
        self.metadata = dict(self.metadata or {})
        if POLICY_METADATA_KEY in self.metadata:  # a bundle from before the policy was a field
            doc = self.metadata.pop(POLICY_METADATA_KEY)
            if self.policy is not None:
                raise ParameterError(f"the cost policy is given twice (policy and metadata[{POLICY_METADATA_KEY!r}])")
            self.policy = None if doc is None else CostPolicy.from_dict(doc)
        if self.policy is not None and tuple(self.policy.models) != self.models:
            raise ParameterError(f"the cost policy is for pool {list(self.policy.models)}, the router's pool is "
                                 f"{list(self.models)}")

    def with_costs(self, costs: dict[str, Any]) -> "RouterBundle":
        """The same bundle with its policy's costs replaced (:meth:`CostPolicy.with_costs`); itself without one."""
        return self if self.policy is None else replace(self, policy=self.policy.with_costs(costs))

    # ------------------------------------------------------------------ routing
    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.router.models_)

    @property
    def has_subjects(self) -> bool:
        return hasattr(self.router, "subject_of") and bool(getattr(self.router, "subjects_", None))

    def score(self, x: np.ndarray) -> Scored:
        """The router's scores of embedded queries ``x`` (n, d), and the correctness scores where a policy reads
        them and the router has its own (``truth_cluster``; every other router's are its scores)."""
        from rgd.routers.base import Router

        scores = np.asarray(self.router.scores(x), dtype=np.float64)
        if self.policy is None or type(self.router).correctness_scores is Router.correctness_scores:
            return Scored(scores, scores)
        return Scored(scores, np.asarray(self.router.correctness_scores(x), dtype=np.float64))

    def out_of_distribution(self, x: np.ndarray) -> Distribution:
        """Per embedded query (n, d): whether it is far from every training question, and its training
        similarity (:meth:`Coverage.of`); never flagged, similarity NaN, without coverage."""
        return no_coverage(len(np.atleast_2d(x))) if self.coverage is None else self.coverage.of(x)

    def ood_notes(self, ood: Distribution) -> list[str | None]:
        """Per query of :meth:`out_of_distribution`: the note shown with it where flagged (:meth:`Coverage.note`),
        else None."""
        flags, sims = ood.out_of_distribution.tolist(), ood.similarity.tolist()
        return [self.coverage.note(s) if f else None for f, s in zip(flags, sims)]

    def rank(self, scored: Scored, cost_weight: float = 0.0) -> Ranking:
        """The pool ranked for each scored query (:meth:`score`) at ``cost_weight``: the router's own ranking
        at 0, the cost policy's above, a :class:`~rgd.routers.policy.CostWeightError` without a policy
        (:func:`rgd.routers.policy.rank_scores`)."""
        return Ranking(*rank_scores(self.policy, scored.scores, cost_weight, scored.correctness))

    def route(self, texts: Sequence[str], k: int = 3, cost_weight: float = 0.0) -> list[dict[str, Any]]:
        """Per query ``{"models": top-k names, "scores": theirs (:class:`Ranking`'s values), "subject":
        inferred subject or None, "warning": None, or why the ranking says nothing about this question
        (:func:`query_warnings`), "out_of_distribution": bool, "training_similarity": float or None without
        coverage (:meth:`out_of_distribution`), "note": the out-of-distribution note or None
        (:meth:`ood_notes`)}``, ranked by :meth:`rank` at ``cost_weight``."""
        if isinstance(texts, str):
            raise TypeError("route expects a list of question texts, got a single string")
        texts = list(texts)
        if int(k) < 1:
            raise ParameterError(f"k must be >= 1, got {k}")
        cost_weight = accepted_cost_weight(self.policy, cost_weight)  # refused before anything is embedded
        if not texts:
            return []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"question #{i} is {type(t).__name__}, expected str")
        x = self.embedder.embed(texts)
        ranking = self.rank(self.score(x), cost_weight)
        order = ranking.order[:, : int(k)]
        top_scores = np.take_along_axis(ranking.values, order, axis=1)
        subjects: list[str | None] = [None] * len(texts)
        if self.has_subjects:
            names = np.asarray(self.router.subjects_)
            subjects = names[self.router.subject_of(x)].tolist()
        models = self.models
        ood = self.out_of_distribution(x)
        return [
            {
                "models": [models[j] for j in row],
                "scores": [float(s) for s in srow],
                "subject": subj,
                "warning": warn,
                "out_of_distribution": bool(flag),
                "training_similarity": None if np.isnan(sim) else float(sim),
                "note": note,
            }
            for row, srow, subj, warn, flag, sim, note in zip(order.tolist(), top_scores, subjects,
                                                               query_warnings(x), *ood, self.ood_notes(ood))
        ]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the bundle into ``directory`` (which must be empty or absent); returns the directory. When a
        file cannot be written (the disk full, no permission), what was written is removed and the error is a
        :class:`~rgd.errors.WriteError` naming that file and the cause."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise FileExistsError(f"{directory}: not empty; a bundle is written into a fresh directory")
        if POLICY_METADATA_KEY in self.metadata:
            raise ParameterError(f"metadata[{POLICY_METADATA_KEY!r}] was set after the bundle was made: the cost "
                                 "policy is RouterBundle.policy")
        json.dumps(self.metadata)  # fail early (TypeError) on metadata that is not JSON-able
        created = not directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            return self._write(directory)
        except OSError as exc:
            if created:
                shutil.rmtree(directory, ignore_errors=True)
            else:  # it was empty: everything in it is this save's
                for child in directory.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
            raise WriteError.of(getattr(exc, "filename", None) or directory, exc,
                                f"the router bundle {directory} was not saved, and nothing of it is left") from None

    def _write(self, directory: Path) -> Path:
        self.router.save(directory / ROUTER_DIR)
        embedder = unwrap_embedder(self.embedder)
        embedder.save(directory / EMBEDDER_DIR)
        if self.policy is not None:
            write_versioned_json(directory / POLICY_FILE, POLICY_FORMAT, POLICY_VERSION, self.policy.to_dict(),
                                 sort_keys=True)
        if self.coverage is not None:
            self.coverage.save(directory / COVERAGE_DIR)
        files = {rel: file_sha256(directory / rel) for rel in _bundle_files(directory)}
        self.content_sha256 = content_hash(files)
        from rgd import __version__

        manifest = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_FORMAT_VERSION,
            "rgd_version": __version__,
            "router": {"name": self.router.name, "models": list(self.models)},
            "embedder": embedder.to_config(),
            "metadata": self.metadata,
            "files": files,
            "content_sha256": self.content_sha256,
        }
        write_text_atomic(directory / MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "RouterBundle":
        """Verify and load a bundle written by :meth:`save`; raises ArtifactError on anything amiss."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        verify_files(directory, manifest)
        # only now, with every byte verified, are the files parsed (JSON / npz without pickle)
        from rgd.embedding.base import Embedder
        from rgd.routers.base import Router

        router = Router.load(directory / ROUTER_DIR)
        embedder = Embedder.load(directory / EMBEDDER_DIR)
        where = f"{directory}/{MANIFEST_FILE}"
        if router.name != manifest["router"].get("name") or list(router.models_) != manifest["router"].get("models"):
            raise ArtifactError(f"{where}: the router on disk does not match the manifest's router")
        recorded = manifest.get("embedder") or {}
        if recorded.get("kind") != embedder.kind or (
            recorded.get("identity") is not None and recorded.get("identity") != embedder.identity
        ):
            raise ArtifactError(
                f"{where}: the embedder on disk ({embedder.kind}) does not match the manifest's "
                f"({recorded.get('kind')}, {recorded.get('identity')})"
            )
        policy = _read_policy(directory) if POLICY_FILE in manifest["files"] else None
        has_coverage = any(rel.startswith(f"{COVERAGE_DIR}/") for rel in manifest["files"])
        coverage = Coverage.load(directory / COVERAGE_DIR) if has_coverage else None  # older bundles: none
        try:  # a bundle from before the policy was a field keeps it in its metadata: __post_init__ reads it
            return cls(router, embedder, dict(manifest.get("metadata") or {}), manifest["content_sha256"], policy,
                       coverage)
        except ParameterError as exc:
            raise ArtifactError(f"{where}: {exc}") from None


def _read_policy(directory: Path) -> CostPolicy:
    path = directory / POLICY_FILE
    doc = read_versioned_json(path, POLICY_FORMAT, POLICY_VERSION, what="cost policy")
    try:
        return CostPolicy.from_dict(doc)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The bundle's manifest, with its format and version checked."""
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: no router bundle here (not a directory)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing; {directory} is not a router bundle") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: unreadable bundle manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ArtifactError(f"{path}: not an rgd router bundle manifest")
    if manifest.get("version") != BUNDLE_FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: bundle format version {manifest.get('version')!r} is not supported "
            f"(this library reads version {BUNDLE_FORMAT_VERSION})"
        )
    files = manifest.get("files")
    if (
        not isinstance(files, dict)
        or not files
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        or not isinstance(manifest.get("router"), dict)
        or not isinstance(manifest.get("content_sha256"), str)
    ):
        raise ArtifactError(f"{path}: malformed bundle manifest (files/router/content_sha256)")
    return manifest


def verify_files(directory: str | Path, manifest: dict[str, Any]) -> None:
    """Every file listed with the recorded sha256, and no other file; else ArtifactError."""
    directory = Path(directory)
    expected: dict[str, str] = manifest["files"]
    present = _bundle_files(directory)
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    if missing:
        raise ArtifactError(f"{directory}: bundle is incomplete, missing {missing}")
    if extra:
        raise ArtifactError(f"{directory}: bundle holds files its manifest does not list: {extra}")
    altered = [rel for rel in present if file_sha256(directory / rel) != expected[rel]]
    if altered:
        raise ArtifactError(
            f"{directory}: bundle files were modified after it was written (sha256 mismatch: {altered}); refusing to load"
        )
    if content_hash(expected) != manifest["content_sha256"]:
        raise ArtifactError(f"{directory}/{MANIFEST_FILE}: content_sha256 does not match the listed file hashes")
