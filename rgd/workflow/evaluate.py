"""Step 6, evaluate: accuracy of every router and reference on the labelled test set; MLflow-style metrics."""

from __future__ import annotations

import hashlib
from typing import Any

from rgd.config.run_config import model_slug
from rgd.data.response_table import ResponseTable
from rgd.errors import DataError
from rgd.evaluation.metrics import evaluate_routers
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet


def labelled_set_id(table: ResponseTable) -> str:
    """A short content id of a labelled test set (its question ids and keys)."""
    digest = hashlib.sha256("\n".join(f"{q}\t{a}" for q, a in zip(table.question_ids, table.answers.tolist())).encode())
    return f"sha256:{digest.hexdigest()[:16]}"


def evaluate_stage(routers: RouterSet, test_table: ResponseTable, test_x: EmbeddingMatrix,
                   consensus: ConsensusArtifact) -> dict[str, Any]:
    """Accuracy of every router and reference on the labelled test set (JSON-able)."""
    if test_x.question_ids != test_table.question_ids:
        raise DataError("test embeddings and test responses are not aligned")
    results = evaluate_routers(routers.routers, test_table, test_x.vectors, consensus.scorer)
    return {
        "primary": routers.primary,
        "n_test": test_table.n_questions,
        "test_set_id": labelled_set_id(test_table),
        "routers": {name: r.to_dict() for name, r in results.items()},
        "pool_accuracy": {m: float(a) for m, a in zip(test_table.models, test_table.accuracy())},
    }


def flat_metrics(evaluation: dict[str, Any], filter_report: dict[str, Any] | None = None) -> dict[str, float]:
    """MLflow-style metrics: ``top1`` / ``top3_vote`` of the primary router, every router's, per subject."""
    out: dict[str, float] = {}
    primary = evaluation["routers"][evaluation["primary"]]
    out["top1"], out["top3_vote"] = primary["top1"], primary["top3_vote"]
    for name, r in evaluation["routers"].items():
        out[f"{name}.top1"], out[f"{name}.top3_vote"] = r["top1"], r["top3_vote"]
        for subject, s in r.get("per_subject", {}).items():
            out[f"{name}.{subject}.top1"] = s["top1"]
    for m, a in evaluation.get("pool_accuracy", {}).items():
        out[f"pool.{model_slug(m)}.accuracy"] = a
    if filter_report:
        out["filter.n_input"] = filter_report["n_input"]
        out["filter.n_kept"] = filter_report["n_kept"]
        for check, n in filter_report.get("failures", {}).items():
            out[f"filter.failed.{check}"] = n
    return out
