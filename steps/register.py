"""register_router: one MLflow run per pipeline run; register the router and decide its promotion.

The model version's tags carry the lineage read from this ZenML run: generator(s), the generated and
filtered data sets (ZenML artifact version ids and content hashes), the filter settings and report, pool,
embedder, and the ZenML pipeline run. When the champion's pool differs from this run's, the champion is
measured again on this run's questions with this run's pool before the version is registered
(:func:`rgd.tracking.pool_change.champion_remeasure`), so the gate can compare the two.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

from zenml import get_step_context, log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import ESTIMATED_METRICS, RunConfig
from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation import report as run_report
from rgd.routers.bundle import RouterBundle
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet
from rgd.workflow.evaluate import flat_metrics
from rgd.workflow.training_data import TrainingData
from steps import names

#: (step, output) of the data set a router was trained on, per pipeline
DATA_OUTPUTS = ((names.GENERATE_STEP, "generated_questions"), (names.RECORDED_STEP, "train_questions"))


def _zenml_lineage() -> dict[str, str]:
    from zenml.client import Client

    ctx = get_step_context()
    run = ctx.pipeline_run
    out = {"zenml_run_id": str(run.id), "zenml_run_name": run.name, "zenml_pipeline": ctx.pipeline.name}
    for name, inputs in ctx.inputs.items():
        if inputs:
            out[f"zenml_artifact.{name}"] = str(inputs[0].id)
    steps = Client().get_pipeline_run(run.id).steps
    for step_name, output in DATA_OUTPUTS:
        if step_name in steps and output in steps[step_name].outputs:
            out["zenml_artifact.generated_questions"] = str(steps[step_name].outputs[output][0].id)
            break
    return out


def identifiability_of(bundle: RouterBundle) -> dict[str, Any] | None:
    """The router's identifiability report (:func:`rgd.truth.identifiability`), None for a router without one."""
    summary = bundle.router.summary() if hasattr(bundle.router, "identifiability_") else {}
    return summary.get("identifiability")


def _measure(seed: int, training_data: TrainingData, test_questions: QuestionSet,
             test_responses: list[ResponseTable], holdout: QuestionSet | None,
             holdout_responses: ResponseTable | None):
    """How the champion's bundle is measured on this run's data (:func:`rgd.workflow.pool_change.remeasure_champion`)."""
    from rgd.workflow.pool_change import remeasure_champion
    from rgd.workflow.respond import merge_pool

    def measure(bundle: RouterBundle):
        test_table = merge_pool(test_responses, list(training_data.table.models)) if test_responses else None
        return remeasure_champion(bundle, training_data, holdout=holdout, holdout_table=holdout_responses,
                                  test=test_questions, test_table=test_table, seed=seed)

    return measure


@step(enable_cache=False)
def register_router(
    config: RunConfig,
    router_bundle: RouterBundle,
    evaluation: dict[str, Any],
    train_questions: QuestionSet,
    train_embeddings: EmbeddingMatrix,
    training_data: TrainingData,
    test_questions: QuestionSet,
    test_responses: list[ResponseTable],
    filter_report: Optional[dict[str, Any]] = None,
    holdout: Optional[QuestionSet] = None,
    holdout_responses: Optional[ResponseTable] = None,
) -> Annotated[dict[str, Any], "registration"]:
    """``training_data``, the test and held-out questions and the pool's answers to them: what the champion is
    measured again on when its pool differs from this run's (the evaluate step's inputs)."""
    from rgd.tracking import configure_mlflow, log_router, promote
    from rgd.tracking.pool_change import champion_remeasure
    from rgd.tracking.promotion import IDENTIFIABLE_TAG, POOL_CHANGE_TAGS, comparison_tag

    lineage = _zenml_lineage()
    tags = {
        **lineage,
        "generators": ",".join(train_questions.generators) or "recorded",
        "pool": ",".join(router_bundle.models),
        "embedder": router_bundle.embedder.identity,
        "train_questions_sha256": train_questions.content_hash,
        "n_train": len(train_questions),
        "test_set_id": evaluation["test_set_id"] or "none (label-free)",
        "config_name": config.name,
        "filter": json.dumps(config.filter.model_dump(), sort_keys=True),
    }
    estimate = evaluation.get("estimate")
    if estimate:  # what the label-free estimate was made on: the gate compares estimates only on the same set
        tags.update({"estimate_set_id": estimate["set_id"], "estimate_on": estimate["on"],
                     "estimate_questions_sha256": estimate["questions_sha256"],
                     "n_estimate_questions": estimate["n_questions"]})
    tags["label_free"] = str(config.is_label_free).lower()
    ident = identifiability_of(router_bundle)
    if ident is not None:  # whether the votes single out the top model (label-free); the gate reads it
        tags[IDENTIFIABLE_TAG] = str(ident["identifiable"]).lower()
        tags["identifiability"] = json.dumps({k: v for k, v in ident.items() if k != "sentence"}, sort_keys=True)
    if filter_report is not None:
        tags["filter_report"] = json.dumps({k: filter_report[k] for k in ("n_input", "n_kept", "failures")})
    for g in config.generators:
        if g.kind == "simulated":
            tags[f"generator_preset.{g.name}"] = g.preset
    metrics = flat_metrics(evaluation, filter_report)
    params = {**config.lineage_params(list(router_bundle.models)), "test_set_id": tags["test_set_id"]}
    configure_mlflow(config.registry.tracking_uri, experiment=config.registry.experiment)
    remeasured, change_tags = champion_remeasure(
        config.registry.model_name, router_bundle.models,
        _measure(config.seed, training_data, test_questions, test_responses, holdout, holdout_responses),
        config.registry.tracking_uri)
    metrics.update(remeasured)
    tags.update(change_tags)
    with tempfile.TemporaryDirectory(prefix="rgd-register-") as tmp:
        tmp = Path(tmp)
        bundle_dir = router_bundle.save(tmp / "bundle")
        artifacts: dict[str, Path] = {}
        artifacts.update(run_report.write_evaluation(evaluation, tmp / "evaluation"))
        artifacts.update(run_report.write_router_state(router_bundle.router, train_embeddings.vectors,
                                                       tmp / "router_state"))
        artifacts.update(run_report.write_plots(evaluation, router_bundle.router, tmp / "plots"))
        if filter_report is not None:
            (tmp / "data").mkdir()
            (tmp / "data" / "filter_report.json").write_text(json.dumps(filter_report, indent=1))
            artifacts["data"] = tmp / "data"
        version = log_router(bundle_dir, model_name=config.registry.model_name, params=params, metrics=metrics,
                             tags=tags, artifacts=artifacts, run_name=lineage["zenml_run_name"],
                             experiment=config.registry.experiment, tracking_uri=config.registry.tracking_uri)
    metric = config.promotion_metric
    compared_on = tags.get(comparison_tag(metric)) if metric in ESTIMATED_METRICS else evaluation["test_set_id"]
    if not compared_on:
        raise ParameterError(f"registry.metric {metric!r} was not measured in this run (no "
                             f"{'held-out questions' if metric in ESTIMATED_METRICS else 'labelled test set'})")
    decision = promote(version.name, version.version, metric=metric, margin=config.registry.margin,
                       test_set_id=compared_on, must_beat=config.registry.must_beat)
    result = {"model_name": version.name, "version": str(version.version), "mlflow_run_id": version.run_id,
              "promoted": bool(decision.promoted), "reason": decision.reason,
              "champion_before": decision.champion_before, "metric": metric,
              "baselines": {k: v for k, v in decision.baselines.items() if v is not None},
              "challenger_metric": decision.challenger_metric, "champion_metric": decision.champion_metric,
              "identifiability": None if ident is None else ident["sentence"],
              "pool_change": tags.get(POOL_CHANGE_TAGS["description"])}
    log_metadata(metadata={k: v for k, v in result.items() if v is not None})
    return result
