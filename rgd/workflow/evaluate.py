"""Step 6, evaluate: accuracy of every router and reference on the labelled test set (when the run has one),
and the label-free estimate of it on the held-out generated questions; MLflow-style metrics.

:func:`evaluate_stage` builds the ONE evaluation report: the pipeline's evaluate step (``evaluation.json`` in
MLflow) and ``rgd evaluate-recorded`` (its ``--output``, plus a ``run`` block of what only that command knows)
both write it. The estimate (:mod:`rgd.evaluation.estimate`) is made on the held-out questions when the run
kept some, else on the labelled test set with its keys hidden (beside the true accuracy); ``estimate.set_id``
names the questions and the pool it was made on, which the promotion gate compares.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import numpy as np

from rgd.config.run_config import model_slug
from rgd.data.response_table import ResponseTable
from rgd.errors import DataError
from rgd.evaluation.estimate import ESTIMATED_PREFIX, KEYS_ARBITER_METRIC, UNCERTAIN_METRIC, hide_keys
from rgd.evaluation.metrics import evaluate_routers
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet, RouterSet
from rgd.workflow.costs import cost_metrics, cost_stage
from rgd.workflow.estimate import estimate_set_id, held_out_truth, label_free_estimate
from rgd.workflow.training_data import TrainingData


def labelled_set_id(table: ResponseTable) -> str:
    """A short content id of a labelled test set (its question ids and keys)."""
    digest = hashlib.sha256("\n".join(f"{q}\t{a}" for q, a in zip(table.question_ids, table.answers.tolist())).encode())
    return f"sha256:{digest.hexdigest()[:16]}"


def evaluate_stage(routers: RouterSet, test_table: ResponseTable, test_x: EmbeddingMatrix, train: TrainingData, *,
                   holdout: QuestionSet | None = None, holdout_table: ResponseTable | None = None,
                   holdout_x: EmbeddingMatrix | None = None, test_keys: np.ndarray | None = None,
                   costs: str | Mapping[str, Any] | None = None, policy: Mapping[str, Any] | None = None,
                   router_params: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """The evaluation report (JSON-able): accuracy of every router and reference on the labelled test set; the
    label-free estimate on the held-out questions (or, with none, on the test set with its keys hidden), its
    estimator fitted on the training set's answers; the cost evaluation where the pool has ``costs``
    (:func:`rgd.workflow.costs.cost_stage`; ``policy``: the registered router's from training, reused;
    ``router_params``: its parameters); what the routers were trained on and chose.

    ``test_keys``: a generator's own answers to the test questions (-1: none), read by the estimate as data
    (its keys reading), never the test set's true keys, which only score the routers."""
    if test_x.question_ids != test_table.question_ids:
        raise DataError("test embeddings and test responses are not aligned")
    if test_keys is not None and len(test_keys) != test_table.n_questions:
        raise DataError(f"{len(test_keys)} generator keys for {test_table.n_questions} test questions")
    out: dict[str, Any] = {"primary": routers.primary, "n_test": test_table.n_questions, "test_set_id": None,
                           "routers": {}, "route_seconds": {}}
    if test_table.n_questions:
        results = evaluate_routers(routers.routers, test_table, test_x.vectors, train.consensus.scorer)
        out.update(test_set_id=labelled_set_id(test_table),
                   routers={name: r.to_dict() for name, r in results.items()},
                   route_seconds={name: results[name].route_seconds for name in routers.routers},
                   pool_accuracy={m: float(a) for m, a in zip(test_table.models, test_table.accuracy())})
    if holdout_table is not None and holdout_table.n_questions:
        if holdout is None or holdout_x is None or holdout_x.question_ids != holdout_table.question_ids \
                or tuple(holdout.ids) != holdout_table.question_ids:
            raise DataError("held-out questions, their embeddings and the pool's answers to them are not aligned")
        # held-out generated questions carry the generator's keys (data)
        keys = holdout_table.answers if train.generator_keys is not None else None
        out["estimate"] = estimate_block(routers, train, holdout_table, holdout_x.vectors, "holdout",
                                         holdout.content_hash, seed, keys=keys)
    elif test_table.n_questions:  # a labelled test set's own keys never count: only a generator's answers
        out["estimate"] = estimate_block(routers, train, test_table, test_x.vectors, "test", out["test_set_id"], seed,
                                         keys=None if test_keys is None else np.asarray(test_keys))
    if not out["routers"] and "estimate" not in out:
        raise DataError("nothing to evaluate the routers on: no labelled test question and no held-out question")
    cost = cost_stage(routers, train, test_table, test_x, costs, router_params=router_params, seed=seed,
                      policy=policy)
    if cost is not None:
        out["cost"] = cost
    out.update(training_block(routers, train))
    out["router_summaries"] = router_summaries(routers, test_table, test_x.vectors)
    return out


def training_block(routers: RouterSet, train: TrainingData) -> dict[str, Any]:
    """What the routers were trained on: the training questions, the pool, the consensus and its voters, and
    every router's parameters."""
    scorer = train.consensus.scorer
    return {"n_train": train.table.n_questions, "models": list(train.table.models),
            "consensus": {k: v for k, v in scorer.to_dict().items() if k in ("temperature", "n_voters", "voter_scope")},
            "voters": [m for m, v in zip(scorer.models_, scorer.voters_) if v],
            "router_params": {name: r.params() for name, r in routers.routers.items()}}


def router_summaries(routers: RouterSet, test_table: ResponseTable, test_x: np.ndarray) -> dict[str, Any]:
    """Per router, what it chose where it reports it: the product's router its label-free choices
    (``summary()``); a subject-routing router (CASCAL) its clusters and, on a labelled test set, how often it
    inferred the test question's true subject (reporting only)."""
    out: dict[str, Any] = {}
    for name, router in routers.routers.items():
        if hasattr(router, "summary"):
            out[name] = router.summary()
        if hasattr(router, "subject_of"):
            facts: dict[str, Any] = {"n_clusters": int(len(router.centroids_))}
            if test_table.n_questions:
                inferred = np.asarray(router.subjects_)[router.subject_of(test_x)]
                facts["subject_routing_accuracy"] = float((inferred == test_table.subjects).mean())
            out[name] = {**out.get(name, {}), **facts}
    return out


def estimate_block(routers: RouterSet, train: TrainingData, table: ResponseTable, x: np.ndarray, on: str,
                   questions_key: str, seed: int, *, keys: np.ndarray | None = None) -> dict[str, Any]:
    """The label-free estimate of every router (and the pool's majority vote) on ``table``'s questions;
    ``keys``: the generator's own answers to them (data), or None."""
    z = train.consensus.scorer.zscores(table)
    truth = held_out_truth(train.table, table, keys=keys, seed=seed)
    estimates = label_free_estimate(routers.routers, train.table, table, x, z=z, seed=seed, keys=keys, truth=truth)
    majority = train.consensus.scorer.all_voters().score(hide_keys(table)).majority
    mass = np.where(majority >= 0, truth.posterior[np.arange(table.n_questions), np.maximum(majority, 0)], 0.0)
    routers_out = {name: e.to_dict() for name, e in estimates.items()}
    routers_out["majority_all"] = {"top1": float(mass.mean()), "top3_vote": float(mass.mean())}
    return {"on": on, "n_questions": table.n_questions, "set_id": estimate_set_id(questions_key, table.models),
            "questions_sha256": questions_key, "pool": list(table.models), "routers": routers_out,
            "keys_arbiter": truth.keys_arbiter}


def flat_metrics(evaluation: dict[str, Any], filter_report: dict[str, Any] | None = None) -> dict[str, float]:
    """MLflow-style metrics: ``top1`` / ``top3_vote`` of the primary router, every router's, per subject."""
    out: dict[str, float] = {}
    if evaluation["routers"]:
        primary = evaluation["routers"][evaluation["primary"]]
        out["top1"], out["top3_vote"] = primary["top1"], primary["top3_vote"]
    estimate = evaluation.get("estimate")
    if estimate:
        primary = estimate["routers"][evaluation["primary"]]
        out.update({ESTIMATED_PREFIX + k: v for k, v in primary.items() if k != "uncertain"})
        out[UNCERTAIN_METRIC] = primary.get("uncertain", 0.0)
        if estimate.get("keys_arbiter") is not None:
            out[KEYS_ARBITER_METRIC] = float(estimate["keys_arbiter"])
        for name, r in estimate["routers"].items():
            out.update({f"{name}.{ESTIMATED_PREFIX}{k}": v for k, v in r.items() if k != "uncertain"})
    for name, r in evaluation["routers"].items():
        out[f"{name}.top1"], out[f"{name}.top3_vote"] = r["top1"], r["top3_vote"]
        for subject, s in r.get("per_subject", {}).items():
            out[f"{name}.{subject}.top1"] = s["top1"]
    out.update(cost_metrics(evaluation.get("cost") or {}))
    for m, a in evaluation.get("pool_accuracy", {}).items():
        out[f"pool.{model_slug(m)}.accuracy"] = a
    if filter_report:
        out["filter.n_input"] = filter_report["n_input"]
        out["filter.n_kept"] = filter_report["n_kept"]
        for check, n in filter_report.get("failures", {}).items():
            out[f"filter.failed.{check}"] = n
    return out
