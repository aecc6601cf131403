"""Every file of a logged router model, checked against the sha256 digest recorded in the registry.

The registry's record of a version (its tags, in the tracking database) is the trusted anchor; the
artifact store is not: anyone who can write there could change MLmodel (the file that tells MLflow what to
import), the requirements, or the bundle. At registration, :func:`files_digest` of the logged model goes into
the version's ``model_files_sha256`` tag (set together with the version). :func:`load_verified` downloads a
version, checks every file against that digest and only then lets MLflow read any of it; a file added,
removed or changed is an :class:`~rgd.errors.ArtifactError` and nothing is imported.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from rgd.errors import ArtifactError, ParameterError

FILES_DIGEST_TAG = "model_files_sha256"
#: written by MLflow into a download of ``models:/...`` (not a file of the logged model)
DOWNLOAD_ONLY = frozenset({"registered_model_meta"})


def file_hashes(directory: str | Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``directory`` (download-only files excluded)."""
    directory = Path(directory)
    out: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            raise ArtifactError(f"{directory}: the logged model has a symbolic link {rel!r}: refused")
        if path.is_file() and rel not in DOWNLOAD_ONLY:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def files_digest(directory: str | Path) -> str:
    """One sha256 over every file's path and content hash."""
    lines = "".join(f"{rel}\t{digest}\n" for rel, digest in file_hashes(directory).items())
    return hashlib.sha256(lines.encode()).hexdigest()


def verify(directory: str | Path, expected: str, what: str) -> None:
    """ArtifactError unless the files under ``directory`` have the digest ``expected``."""
    actual = files_digest(directory)
    if actual != expected:
        raise ArtifactError(
            f"{what}: the logged model's files do not match the sha256 recorded in the registry at registration "
            f"({actual[:12]} != {expected[:12]}): a file was added, removed or changed in the artifact store; "
            "refused, nothing of it was loaded")


def load_verified(name: str, version: str | None = None, alias: str | None = None):
    """The pyfunc model of ``name`` (``version``, else ``alias``), loaded only after every file was verified."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        mv = client.get_model_version(name, version) if version else client.get_model_version_by_alias(name, alias)
    except MlflowException:
        what = f"version {version}" if version else f"alias {alias!r}"
        raise ParameterError(f"{name!r} has no {what}; see `rgd models`") from None
    what = f"{name} v{mv.version}"
    expected = (mv.tags or {}).get(FILES_DIGEST_TAG)
    if not expected:
        raise ArtifactError(f"{what} has no {FILES_DIGEST_TAG} tag (registered before model files were verified, or "
                            "its registration was interrupted): refused; register it again with `rgd run`")
    quiet = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # keep `rgd route --json` output clean
    try:
        with tempfile.TemporaryDirectory(prefix="rgd-model-") as tmp:
            local = mlflow.artifacts.download_artifacts(f"models:/{name}/{mv.version}", dst_path=tmp)
            verify(local, expected, what)
            return mlflow.pyfunc.load_model(local)  # the bundle is read into memory here
    finally:
        if quiet is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = quiet
