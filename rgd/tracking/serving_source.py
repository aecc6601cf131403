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
from rgd.serving.config import NotInRegistry
from rgd.tracking.config import is_local_default, tracking_uri

BUNDLE_SHA_TAG = "bundle_sha256"

#: MLflow's HTTP settings for the gateway, unless the environment sets them: the gateway asks the registry again
#: every poll_interval_s itself, and MLflow's defaults (7 retries with exponential backoff, 120 s timeouts) keep
#: one call to a registry that is down busy for minutes, which delays the load once it is back
GATEWAY_MLFLOW_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                       "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def bound_registry_calls() -> None:
    """Apply :data:`GATEWAY_MLFLOW_HTTP` where the environment does not say otherwise (``rgd serve`` only), and
    keep MLflow's download progress bars out of the gateway's log."""
    for name, value in {**GATEWAY_MLFLOW_HTTP, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}.items():
        os.environ.setdefault(name, value)


def check_store_exists(uri: str, configured: bool) -> None:
    """A SQLite store that does not exist yet is refused (opening it would create an empty one, where no router
    could ever be found): the local default before any ``rgd run``, or a mistyped path. ``configured``: the
    gateway config named ``uri`` (else it came from ``$MLFLOW_TRACKING_URI`` or the local default)."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///"):])
    if path.is_file():
        return
    if configured:
        why = f"no MLflow store at {path} (a SQLite file that does not exist)"
    elif is_local_default(uri):
        why = (f"null, so the local store under RGD_HOME: {path} does not exist yet. Run `rgd run` first, in the "
               "same directory or with the same RGD_HOME, or point registry.tracking_uri at your store")
    else:
        why = f"null, so $MLFLOW_TRACKING_URI: no MLflow store at {path} (a SQLite file that does not exist)"
    raise NotInRegistry(why, "registry.tracking_uri")


class RegistrySource:
    """The registry ``uri`` (None: ``$MLFLOW_TRACKING_URI``, else the local store under ``RGD_HOME``), opened at
    first use or by :meth:`open`, which ``rgd serve`` calls once the config's own checks have passed."""

    def __init__(self, model_name: str = DEFAULT_MODEL_NAME, alias: str = CHAMPION, uri: str | None = None) -> None:
        self.name = model_name
        self.alias = alias
        self.uri = tracking_uri(uri=uri)
        self._configured = uri is not None
        self._client = None

    def open(self) -> None:
        """Check that a SQLite store exists (:func:`check_store_exists`; opening one creates it) and connect."""
        import mlflow

        if self._client is not None:
            return
        check_store_exists(self.uri, configured=self._configured)
        # MLflow resolves a models:/ URI against its process-wide registry URI whatever a call is given, and that
        # defaults to ./mlflow.db in the working directory (created there, and the model not found): set it
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        self._client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    @property
    def client(self):
        self.open()
        return self._client

    def current_version(self) -> str:
        """The version the alias points at; :class:`~rgd.serving.config.NotInRegistry` when the registry
        answers that the model or the alias does not exist (anything else, e.g. a registry that is down,
        raises as it came: the gateway asks again later)."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as exc:
            missing = self._missing()
            if missing is not None:
                raise missing from None
            raise exc

    def _missing(self) -> NotInRegistry | None:
        """Why the alias cannot be read when the registry says the model or the alias does not exist, else None."""
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(self.name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                return None
            return NotInRegistry(f"no router is registered as {self.name!r} in {self.uri}: run `rgd run` first, or "
                                 "name a registered model (rgd models lists them)", "registry.model_name")
        aliases = dict(model.aliases or {})
        if self.alias in aliases:
            return None  # it exists now (set meanwhile): the next poll reads it
        have = ", ".join(f"{a} (version {v})" for a, v in sorted(aliases.items())) or "none yet"
        return NotInRegistry(f"{self.name} has no alias {self.alias!r}; its aliases: {have} (rgd promote sets one)",
                             "registry.alias")

    def load(self, version: str):
        import mlflow

        from rgd.routers.bundle import MANIFEST_FILE, RouterBundle

        mv = self.client.get_model_version(self.name, str(version))
        tmp = Path(tempfile.mkdtemp(prefix=f"rgd-serve-{self.name}-v{version}-"))
        try:
            local = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.name}/{version}", dst_path=str(tmp), tracking_uri=self.uri,
                registry_uri=self.uri))
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
