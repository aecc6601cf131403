"""Cost-aware routing as a stage: calibrate the routers without labels, sweep the knob, report the curve.

:func:`estimated_correctness` is the ONE place the calibration's probability target is taken from: today
the probability that each model is right on each training question under the product's label-free truth
estimate (:mod:`rgd.truth`, the default router's own); swap the estimator here and every policy follows. :func:`fit_policy` builds a router's :class:`~rgd.routers.policy.CostPolicy`;
:func:`cost_evaluation` is what ``evaluate-recorded --costs`` and the pipeline's evaluation report: the
default router's cost-accuracy curve beside every single model and the other routers' curves under the
same policy, and each router's calibration against the TRUE correctness of the test questions.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from rgd.config.run_config import model_slug
from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.cost_curve import cost_curve_summary, policy_curve, reliability, single_points
from rgd.routers.base import Router, TrainingSet
from rgd.routers.policy import COST_WEIGHT_RANGE, CostPolicy, fit_calibrator, knob_grid
from rgd.workflow.artifacts import EmbeddingMatrix, RouterSet
from rgd.workflow.train import seeded_params
from rgd.workflow.training_data import TrainingData

log = logging.getLogger(__name__)

#: routers whose curves are reported beside the default one when they were trained
COMPARED_ROUTERS = ("knn",)


def estimated_correctness(train: TrainingSet) -> np.ndarray:
    """(Q, M) label-free estimate of the probability that each pool model is right on each training
    question: the target the routers' scores are calibrated on (see module doc). Reads no answer keys.

    The product's truth estimate (:func:`rgd.truth.estimate_truth` as the default router
    ``truth_cluster`` makes it: votes, the generator's key as a voter when it anchors, confidences), so
    that the policy's probabilities and the default router agree on who is right. (The plain consensus
    posterior, ``train.consensus.scores``, ranked Qwen1.5-110B above Meta-Llama-3-70B on MMLU-Pro and made
    the policy pay for the dearer model: benchmarks/README.md.)"""
    from rgd.routers.truth_cluster import TruthClusterRouter

    blind = train.table.with_answers(np.full(train.table.n_questions, -1))
    est = TruthClusterRouter().estimate(replace(train, table=blind))
    return np.asarray(est.pool_scores, dtype=np.float64).T


def fit_policy(name: str, router: Router, params: Mapping[str, Any], train: TrainingSet,
               costs: Mapping[str, float], *, seed: int = 0, folds: int = 3) -> CostPolicy:
    """The cost policy of router ``name`` (fitted as ``router``): calibrated on held-out training questions."""
    calibrator = fit_calibrator(name, seeded_params(name, params, seed), train, estimated_correctness(train),
                                folds=folds, seed=seed, fitted=router)
    return CostPolicy.build(router.models_, costs, calibrator)


def cost_evaluation(fitted: Mapping[str, Router], default: str, train: TrainingSet, test_table: ResponseTable,
                    test_x: np.ndarray, costs: Mapping[str, float], *,
                    router_params: Mapping[str, Mapping[str, Any]] | None = None, seed: int = 0,
                    compared: Sequence[str] = COMPARED_ROUTERS, knobs: Sequence[float] | None = None,
                    given: Mapping[str, CostPolicy] | None = None,
                    ) -> tuple[dict[str, Any], dict[str, CostPolicy]]:
    """(JSON-able report, policies by router): the default router's curve (``cost_curve``), the compared
    routers' (``cost_curves``, the default's included) and every policy's calibration on the test set.
    ``given``: policies already fitted (the registered router's, from training), used instead of refitting."""
    if default not in fitted:
        raise ParameterError(f"the default router {default!r} was not trained (trained: {sorted(fitted)})")
    if not test_table.has_answers:
        raise ParameterError("the cost curve needs the true answer key of every test question")
    models = tuple(test_table.models)
    router_params = router_params or {}
    knobs = knob_grid() if knobs is None else np.asarray(knobs, dtype=np.float64)
    correct = test_table.correct()
    policies: dict[str, CostPolicy] = {}
    curves: dict[str, Any] = {}
    calibration: dict[str, Any] = {}
    for name in dict.fromkeys([default, *[c for c in compared if c in fitted]]):
        router = fitted[name]
        if given and name in given:
            policy = given[name].with_costs(costs)
        else:
            policy = fit_policy(name, router, router_params.get(name, {}), train, costs, seed=seed)
        policies[name] = policy
        scores, correctness = router.scores(test_x), router.correctness_scores(test_x)
        singles = single_points(correct, policy.costs, models)
        curves[name] = cost_curve_summary(policy_curve(policy, scores, correct, knobs, correctness), singles)
        calibration[name] = reliability(policy.probabilities(correctness), correct.T)
        log.info("%s: AIQ %.4f, ECE %.4f", name, curves[name]["aiq"], calibration[name]["ece"])
    report = {
        "costs": {m: float(c) for m, c in zip(models, policies[default].costs)},
        "cost_weight_range": list(COST_WEIGHT_RANGE),
        "cost_curve": {"router": default, **curves[default]},
        "cost_curves": curves,
        "calibration": calibration,
    }
    return report, policies


def cost_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """MLflow-style metrics of a :func:`cost_evaluation` report (empty without one)."""
    out: dict[str, float] = {}
    if not report or "cost_curve" not in report:
        return out
    main = report["cost_curve"]
    out["cost.aiq"] = main["aiq"]
    if main.get("at_half_cost_top1") is not None:
        out["cost.at_half_cost_top1"] = main["at_half_cost_top1"]
    out["cost.dominates_every_single"] = float(main["dominates_every_single"])
    out["calibration.ece"] = report["calibration"][main["router"]]["ece"]
    for name, curve in report.get("cost_curves", {}).items():
        out[f"{name}.cost.aiq"] = curve["aiq"]
        if curve.get("at_half_cost_top1") is not None:
            out[f"{name}.cost.at_half_cost_top1"] = curve["at_half_cost_top1"]
    for name, cal in report.get("calibration", {}).items():
        out[f"{name}.calibration.ece"] = cal["ece"]
    for s in main["singles"]:
        out[f"pool.{model_slug(s['model'])}.cost"] = s["mean_cost"]
    return out


def resolve_costs(costs: str | Mapping[str, Any] | None, models: Sequence[str]) -> dict[str, float] | None:
    """The pool ``models``' costs from what the run's source gives (:meth:`rgd.workflow.sources.Source.step_costs`:
    a costs file, a map, or None for none), validated (:func:`rgd.routers.cost.load_costs`)."""
    from rgd.routers.cost import load_costs

    return None if costs is None else load_costs(costs, models)


def cost_stage(routers: RouterSet, train: TrainingData, test_table: ResponseTable, test_x: EmbeddingMatrix,
               costs: str | Mapping[str, Any] | None, *, router_params: Mapping[str, Any] | None = None,
               seed: int = 0, policy: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The pipeline's cost evaluation (:func:`cost_evaluation`) when the pool has costs (:func:`resolve_costs`)
    and the run a labelled test set, else None. ``router_params``: the registered router's; ``policy``: its
    policy from training (JSON), reused."""
    pool_costs = resolve_costs(costs, list(routers.main.models_))
    if pool_costs is None or not test_table.n_questions or not test_table.has_answers:
        return None
    given = {routers.primary: CostPolicy.from_dict(policy)} if policy is not None else None
    report, _ = cost_evaluation(routers.routers, routers.primary, train.training_set, test_table, test_x.vectors,
                                pool_costs, router_params={routers.primary: dict(router_params or {})}, seed=seed,
                                given=given)
    return report


def policy_stage(routers: RouterSet, train: TrainingData, costs: str | Mapping[str, Any] | None, *,
                 router_params: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any] | None:
    """The registered router's cost policy (:class:`rgd.routers.policy.CostPolicy`, JSON) when the pool has
    costs (:func:`resolve_costs`), else None: stored in the bundle's metadata, so the served model and
    ``rgd route`` take a cost weight."""
    pool_costs = resolve_costs(costs, list(routers.main.models_))
    if pool_costs is None:
        return None
    return fit_policy(routers.primary, routers.main, dict(router_params or {}), train.training_set, pool_costs,
                      seed=seed).to_dict()
