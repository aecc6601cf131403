"""Small artifacts of every stored type, fitted on the synthetic pool of the serving tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rgd.consensus import ConsensusScorer
from rgd.data.schema import Provenance, Question
from rgd.embedding import make_embedder
from rgd.routers.base import TrainingSet
from rgd.routers.registry import fit_router
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, QuestionSet, RouterSet
from tests.rgd.tracking.synthetic import synthetic_pool

STORED_V1 = Path(__file__).resolve().parent / "stored_v1"


@pytest.fixture(scope="module")
def pool():
    texts, table = synthetic_pool(n_per_subject=12, seed=0)
    embedder = make_embedder("tfidf", n_components=8).fit(texts)
    return texts, table, embedder, embedder.embed(texts)


@pytest.fixture(scope="module")
def questions(pool) -> QuestionSet:
    texts, table, *_ = pool
    qs = tuple(
        Question(id=qid, subject=str(s), text=t, options=["one", "two", "three", "four"], answer="ABCD"[i % 4],
                 provenance=Provenance(kind="generated", source="gen-a", prompt_version="v2", seed=i))
        for i, (qid, s, t) in enumerate(zip(table.question_ids, table.subjects, texts))
    )
    n = len(qs)
    latents = {"niche": np.arange(n), "difficulty": np.linspace(0, 1, n), "key": np.arange(n) % 4,
               "distractor": np.ones(n, np.int64), "kind": np.zeros(n, np.int64),
               "world_fingerprint": np.array([2**63 + 5], dtype=np.uint64)}
    return QuestionSet(qs, ("gen-a",), "generated", latents, {"kept": n, "dropped": {"dup": 0}})


@pytest.fixture(scope="module")
def consensus(pool) -> ConsensusArtifact:
    _, table, *_ = pool
    scorer = ConsensusScorer(n_voters=3, voter_scope="subject").fit(table)
    return ConsensusArtifact(scorer, scorer.score(table), table.question_ids)


@pytest.fixture(scope="module")
def embeddings(pool) -> EmbeddingMatrix:
    _, table, embedder, x = pool
    return EmbeddingMatrix(table.question_ids, x, embedder.identity, embedder.kind)


@pytest.fixture(scope="module")
def routers(pool, consensus) -> RouterSet:
    _, table, _, x = pool
    train = TrainingSet(table, x, consensus.result)
    fitted = {name: fit_router(name, params, train)
              for name, params in (("cascal", {"min_points": 5}), ("knn", {"k": 5}), ("best_single", {}))}
    return RouterSet(fitted, "cascal")
