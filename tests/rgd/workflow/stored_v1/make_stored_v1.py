"""Writes the artifacts in this directory with the code of commit 18de89f, before every type persisted itself.

They are what ZenML artifact stores and registered models hold from then: the tests load them with today's
``Type.load`` to show that stored artifacts still load. Rerun (only to rebuild them) from the repository root:

    git archive 18de89f rgd materializers tests | tar -x -C /tmp/rgd-18de89f
    PYTHONPATH=/tmp/rgd-18de89f .venv/bin/python tests/rgd/workflow/stored_v1/make_stored_v1.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from materializers.consensus import ConsensusMaterializer
from materializers.embeddings import EmbeddingMatrixMaterializer
from materializers.question_set import QuestionSetMaterializer
from materializers.routers import RouterSetMaterializer
from rgd.consensus import ConsensusScorer
from rgd.data.schema import Provenance, Question
from rgd.embedding import make_embedder
from rgd.routers.base import TrainingSet
from rgd.routers.registry import ROUTERS, fit_router
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, QuestionSet, RouterSet
from tests.rgd.tracking.synthetic import SUBJECT_WORDS, question_text, synthetic_pool

HERE = Path(__file__).resolve().parent
PARAMS = {"cascal": {"min_points": 5, "n_nearest": 2}, "mlp": {"hidden": 8, "max_iter": 50}, "knn": {"k": 5},
          "knn_consensus": {"k": 7}, "random": {"seed": 3}}


def main() -> None:
    texts, table = synthetic_pool(n_per_subject=12, seed=0)
    embedder = make_embedder("tfidf", n_components=8).fit(texts)
    consensus = ConsensusScorer(n_voters=3).fit(table)
    result = consensus.score(table)
    train = TrainingSet(table, embedder.embed(texts), result)
    routers = {name: fit_router(name, PARAMS.get(name, {}), train) for name in sorted(ROUTERS)}

    rng = np.random.default_rng(7)
    queries = [question_text(s, rng) for s in sorted(SUBJECT_WORDS) for _ in range(2)]
    query_x = embedder.embed(queries)
    questions = tuple(
        Question(id=f"g{i}", subject=s, text=t, options=["yes", "no", "maybe"], answer="ABC"[i % 3],
                 provenance=Provenance(kind="simulated", source="sim-strong", prompt_version="v1", seed=i))
        for i, (s, t) in enumerate(zip(sorted(SUBJECT_WORDS) * 2, queries))
    )
    latents = {"niche": np.arange(6), "difficulty": np.linspace(0, 1, 6), "key": np.arange(6) % 3,
               "distractor": np.ones(6, dtype=np.int64), "kind": np.zeros(6, dtype=np.int64),
               "world_fingerprint": np.array([12345678901234567890], dtype=np.uint64)}

    for sub in ("question_set", "consensus", "embeddings", "router_set", "response_table"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
        (HERE / sub).mkdir()
    QuestionSetMaterializer(str(HERE)).write(
        QuestionSet(questions, ("sim-strong",), "generated", latents, {"kept": 6}), str(HERE / "question_set"))
    ConsensusMaterializer(str(HERE)).write(
        ConsensusArtifact(consensus, result, table.question_ids), str(HERE / "consensus"))
    EmbeddingMatrixMaterializer(str(HERE)).write(
        EmbeddingMatrix(tuple(q.id for q in questions), query_x, embedder.identity, embedder.kind),
        str(HERE / "embeddings"))
    RouterSetMaterializer(str(HERE)).write(RouterSet(routers, "cascal"), str(HERE / "router_set"))
    table.save(HERE / "response_table")
    expected = {
        "router_params": {name: r.params() for name, r in routers.items()},
        "ranks": {name: r.rank(query_x).tolist() for name, r in routers.items()},
        "question_set_hash": QuestionSet(questions).content_hash,
        "consensus_majority": result.majority.tolist(),
        "voters": consensus.voters_.tolist(),
        "table_choices_sum": int(table.choices.sum()),
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
