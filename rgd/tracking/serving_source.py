"""The registry side of the serving gateway: which version an alias points at, and that version's verified bundle.

:class:`RegistrySource` is what ``rgd serve`` hands to :mod:`rgd.serving` (which never imports MLflow). Loading
a version downloads its pyfunc model's ``bundle`` artifact into a temporary directory, verifies it with
:meth:`RouterBundle.load <rgd.routers.bundle.RouterBundle.load>` (every file's sha256 against the manifest,
before anything is parsed) and then checks the bundle's content hash against the ``bundle_sha256`` tag
recorded on the model version when it was registered: a bundle rewritten in the artifact store together
with its manifest is refused too. The temporary copy is removed once the bundle is in memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rgd.config.aliases import CHAMPION, DEFAULT_MODEL_NAME
from rgd.errors import ArtifactError
from rgd.tracking.config import tracking_uri

BUNDLE_SHA_TAG = "bundle_sha256"

#: MLflow's HTTP settings for the gateway, unless the environment sets them: the gateway asks the registry again
#: every poll_interval_s itself, and MLflow's defaults (7 retries with exponential backoff, 120 s timeouts) keep
#: one call to a registry that is down busy for minutes, which delays the load once it is back
GATEWAY_MLFLOW_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                       "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def bound_registry_calls() -> None:
    """Apply :data:`GATEWAY_MLFLOW_HTTP` where the environment does not say otherwise (``rgd serve`` only)."""
    for name, value in GATEWAY_MLFLOW_HTTP.items():
        os.environ.setdefault(name, value)


class RegistrySource:
    def __init__(self, model_name: str = DEFAULT_MODEL_NAME, alias: str = CHAMPION, uri: str | None = None) -> None:
        import mlflow

        self.name = model_name
        self.alias = alias
        self.uri = tracking_uri(uri=uri)
        self.client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def current_version(self) -> str:
        return str(self.client.get_model_version_by_alias(self.name, self.alias).version)

    def load(self, version: str):
        import mlflow

        from rgd.routers.bundle import MANIFEST_FILE, RouterBundle

        mv = self.client.get_model_version(self.name, str(version))
        tmp = Path(tempfile.mkdtemp(prefix=f"rgd-serve-{self.name}-v{version}-"))
        try:
            local = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.name}/{version}", dst_path=str(tmp), tracking_uri=self.uri))
            manifests = sorted(local.rglob(MANIFEST_FILE))
            if len(manifests) != 1:
                raise ArtifactError(f"{self.name} v{version}: expected one router bundle in the model, found {len(manifests)}")
            bundle = RouterBundle.load(manifests[0].parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        recorded = (mv.tags or {}).get(BUNDLE_SHA_TAG)
        if recorded is None:
            raise ArtifactError(f"{self.name} v{version}: no {BUNDLE_SHA_TAG} tag to verify the bundle against")
        if recorded != bundle.content_sha256:
            raise ArtifactError(
                f"{self.name} v{version}: bundle content {bundle.content_sha256[:12]} does not match the registered "
                f"{BUNDLE_SHA_TAG} {recorded[:12]}; refusing to serve it"
            )
        return bundle
