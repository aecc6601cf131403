"""Which generator, data, filter, pool, embedder and pipeline run produced a registered router.

Read from the systems' own records, never from a side file: the MLflow model version (its tags, written by
the ``register_router`` step, its run's metrics, its aliases) and the ZenML pipeline run those tags point
to (its steps, their metadata, the artifact versions). ZenML and MLflow are imported inside the functions.
"""

from __future__ import annotations

import json
from typing import Any

from rgd.errors import RGDError
from steps import names


class LineageError(RGDError, LookupError):
    """The records a lineage question needs are missing."""


def _mlflow_client():
    import mlflow

    from rgd.tracking import configure_mlflow

    configure_mlflow()
    return mlflow.MlflowClient()


def _version_record(client, name: str, version: str) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise LineageError(f"no version {version} of registered model {name!r} ({exc.message})") from None
    tags = dict(mv.tags or {})
    metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
    return {"version": str(mv.version), "aliases": sorted(getattr(mv, "aliases", []) or []), "tags": tags,
            "mlflow_run_id": mv.run_id, "metrics": {k: metrics[k] for k in ("top1", "top3_vote") if k in metrics}}


def _artifact_summary(artifact_id: str | None) -> dict[str, Any] | None:
    if not artifact_id:
        return None
    from zenml.client import Client

    try:
        av = Client().get_artifact_version(artifact_id)
    except KeyError:
        return {"artifact_version_id": artifact_id, "missing_in_zenml": True}
    meta = {k: getattr(v, "value", v) for k, v in (av.run_metadata or {}).items()}
    keep = ("n_questions", "generators", "content_hash", "subjects", "role")
    return {"artifact_version_id": str(av.id), "name": av.artifact.name, "version": str(av.version),
            "uri": av.uri, **{k: meta[k] for k in keep if k in meta}}


def _zenml_run(run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    from zenml.client import Client

    try:
        run = Client().get_pipeline_run(run_id)
    except KeyError:
        return {"id": run_id, "missing_in_zenml": True}
    steps = run.steps
    out: dict[str, Any] = {"id": str(run.id), "name": run.name, "pipeline": run.pipeline.name if run.pipeline else None,
                           "status": str(run.status), "steps": sorted(steps)}
    out["pool_steps"] = {name: {k: getattr(v, "value", v) for k, v in (s.run_metadata or {}).items()
                                if k in ("model", "answered_now", "resumed_from_checkpoint", "answer_rate")}
                         for name, s in steps.items() if name.startswith(names.RESPOND_PREFIX)}
    if names.FILTER_STEP in steps:
        report = steps[names.FILTER_STEP].outputs.get("filter_report") or []
        if report:
            doc = report[0].load()
            out["filter_report"] = {k: doc[k] for k in ("n_input", "n_kept", "failures", "per_subject") if k in doc}
            out["filter_report_artifact_version_id"] = str(report[0].id)
    return out


def router_lineage(model_name: str, version: str) -> dict[str, Any]:
    """Everything behind one registered router version."""
    client = _mlflow_client()
    rec = _version_record(client, model_name, version)
    tags = rec["tags"]
    run = _zenml_run(tags.get("zenml_run_id"))
    filter_settings = json.loads(tags["filter"]) if tags.get("filter") else None
    return {
        "model_name": model_name,
        "version": rec["version"],
        "aliases": rec["aliases"],
        "metrics": rec["metrics"],
        "generators": [g for g in tags.get("generators", "").split(",") if g],
        "generator_presets": {k.split(".", 1)[1]: v for k, v in tags.items() if k.startswith("generator_preset.")},
        "generated_dataset": _artifact_summary(tags.get("zenml_artifact.generated_questions")),
        "training_dataset": _artifact_summary(tags.get("zenml_artifact.train_questions")),
        "train_questions_sha256": tags.get("train_questions_sha256"),
        "filter": {"settings": filter_settings, "report": run.get("filter_report"),
                   "report_artifact_version_id": run.get("filter_report_artifact_version_id")},
        "pool": [m for m in tags.get("pool", "").split(",") if m],
        "embedder": tags.get("embedder"),
        "test_set_id": tags.get("test_set_id"),
        "zenml_run": {k: v for k, v in run.items() if k not in ("filter_report", "filter_report_artifact_version_id")},
        "mlflow_run_id": rec["mlflow_run_id"],
        "git_commit": tags.get("git_commit"),
    }


def generator_lineage(model_name: str, generator: str) -> dict[str, Any]:
    """Every registered router version trained on data of ``generator`` (its name, or a simulated preset)."""
    from mlflow.exceptions import MlflowException

    client = _mlflow_client()
    try:
        versions = client.search_model_versions(f"name = '{model_name}'")
    except MlflowException as exc:
        raise LineageError(f"cannot list versions of {model_name!r} ({exc.message})") from None
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        tags = dict(mv.tags or {})
        gens = [g for g in tags.get("generators", "").split(",") if g]
        presets = {k.split(".", 1)[1]: v for k, v in tags.items() if k.startswith("generator_preset.")}
        if generator not in gens and generator not in presets.values():
            continue
        rec = _version_record(client, model_name, mv.version)
        rows.append({"version": rec["version"], "aliases": rec["aliases"], "metrics": rec["metrics"],
                     "generators": gens, "zenml_run_id": tags.get("zenml_run_id"),
                     "generated_dataset": tags.get("zenml_artifact.generated_questions")})
    return {"model_name": model_name, "generator": generator, "versions": rows}


def _fmt_metrics(m: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in m.items()) or "-"


def format_router(d: dict[str, Any]) -> str:
    ds = d.get("generated_dataset") or d.get("training_dataset") or {}
    rep = (d.get("filter") or {}).get("report") or {}
    run = d.get("zenml_run") or {}
    lines = [
        f"{d['model_name']} version {d['version']}  aliases: {', '.join(d['aliases']) or '-'}  "
        f"({_fmt_metrics(d['metrics'])} on {d.get('test_set_id')})",
        f"  generator(s):      {', '.join(d['generators']) or '-'}"
        + (f"  (presets: {d['generator_presets']})" if d.get("generator_presets") else ""),
        f"  generated data:    ZenML artifact version {ds.get('artifact_version_id', '-')}"
        f" ({ds.get('n_questions', '?')} questions, sha256 {str(ds.get('content_hash', '-'))[:16]})",
        f"  filter:            kept {rep.get('n_kept', '?')} of {rep.get('n_input', '?')}; "
        f"dropped {rep.get('failures', {})}",
        f"  filter settings:   {json.dumps((d.get('filter') or {}).get('settings'))}",
        f"  pool:              {', '.join(d['pool'])}",
        f"  embedder:          {d.get('embedder')}",
        f"  ZenML run:         {run.get('name', '-')} ({run.get('id', '-')}, pipeline {run.get('pipeline', '-')}, "
        f"{run.get('status', '-')})",
        f"  MLflow run:        {d.get('mlflow_run_id')}   git commit: {d.get('git_commit') or '-'}",
    ]
    return "\n".join(lines)


def format_generator(d: dict[str, Any]) -> str:
    if not d["versions"]:
        return f"no version of {d['model_name']} was trained on data of {d['generator']!r}"
    lines = [f"routers trained on data of {d['generator']!r}:"]
    for r in d["versions"]:
        lines.append(f"  version {r['version']:<4} aliases: {', '.join(r['aliases']) or '-':<22} "
                     f"{_fmt_metrics(r['metrics']):<36} ZenML run {r['zenml_run_id']}")
    return "\n".join(lines)
