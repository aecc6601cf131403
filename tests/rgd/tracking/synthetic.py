"""A small synthetic pool and real routers fitted on it, for the serving and MLflow tests (no ZenML)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rgd.consensus import ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.embedding import make_embedder
from rgd.routers.base import TrainingSet
from rgd.routers.bundle import RouterBundle
from rgd.routers.coverage import Coverage
from rgd.routers.registry import make_router

SUBJECT_WORDS = {
    "algebra": "equation polynomial root variable quadratic factor integer matrix",
    "biology": "cell protein enzyme gene membrane organism tissue mitochondria",
    "history": "empire treaty revolution dynasty war medieval colonial parliament",
}
EXPERTS = {"algebra": "math-expert", "biology": "bio-expert", "history": "history-expert"}
MODELS = ("math-expert", "bio-expert", "history-expert", "generalist")


def question_text(subject: str, rng: np.random.Generator, n_words: int = 6) -> str:
    words = rng.choice(SUBJECT_WORDS[subject].split(), size=n_words)
    filler = rng.choice("which what explain the of a describe following best".split(), size=3)
    return " ".join([*filler, *words]) + "?"


def synthetic_pool(n_per_subject: int = 40, seed: int = 0) -> tuple[list[str], ResponseTable]:
    """Texts and a pool table where each expert is right 90% in its subject, 30% elsewhere."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat(np.array(sorted(SUBJECT_WORDS)), n_per_subject)
    texts = [question_text(s, rng) for s in subjects]
    q = len(subjects)
    answers = rng.integers(0, 4, size=q).astype(np.int8)
    p = np.empty((len(MODELS), q))
    for m, name in enumerate(MODELS):
        p[m] = np.where(np.array([EXPERTS[s] == name for s in subjects]), 0.9, 0.3)
        if name == "generalist":
            p[m] = 0.55
    right = rng.random(p.shape) < p
    wrong = (answers[None, :] + rng.integers(1, 4, size=p.shape)) % 4
    choices = np.where(right, answers[None, :], wrong).astype(np.int8)
    confidence = np.where(right, -0.1, -1.0).astype(np.float32) + rng.normal(0, 0.05, p.shape).astype(np.float32)
    table = ResponseTable(
        models=MODELS,
        question_ids=tuple(f"q{i}" for i in range(q)),
        subjects=subjects,
        n_options=np.full(q, 4, dtype=np.int16),
        choices=choices,
        confidence=confidence,
        answers=answers,
    )
    return texts, table


def fit_bundle(router_name: str = "cascal", seed: int = 0, embedder_kind: str = "tfidf", **router_params) -> RouterBundle:
    texts, table = synthetic_pool(seed=seed)
    embedder = make_embedder("tfidf", n_components=16) if embedder_kind == "tfidf" else make_embedder(embedder_kind)
    embedder.fit(texts)
    x = embedder.embed(texts)
    consensus = ConsensusScorer().fit_score(table)
    params = {"min_points": 5, **router_params} if router_name == "cascal" else router_params
    router = make_router(router_name, **params)
    unlabeled = table if router.uses_labels else table.with_answers(np.full(table.n_questions, -1))
    router.fit(TrainingSet(unlabeled, x, consensus))
    return RouterBundle(router, embedder, {"router": router_name, "seed": seed}, coverage=Coverage.fit(x, seed=seed))


def saved_bundle(directory: Path, router_name: str = "cascal", seed: int = 0) -> Path:
    return fit_bundle(router_name, seed).save(directory)
