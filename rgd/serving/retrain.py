"""Retraining on Kubernetes (issue 24.4): on a drift alarm, a Job made from a CronJob, through the in-cluster API.

Where ``monitoring.drift.retrain_job`` names a CronJob (``k8s/base/retrain.yaml``'s ``rgd-retrain``, or the one
``rgd schedule`` created), an alarm's event creates a Job from that CronJob's ``jobTemplate`` in the gateway's
namespace, as ``kubectl create job --from=cronjob/NAME`` does, without a kubectl binary: ``GET`` the CronJob, then
``POST`` the Job, over HTTPS to ``$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`` with the pod's service-account
token and CA (``/var/run/secrets/kubernetes.io/serviceaccount``, read at each alarm: a projected token rotates).
The RBAC it needs is ``get`` on that CronJob and ``create`` on Jobs (``k8s/base/rbac.yaml``, ``rgd-gateway``); the
owner reference it sets, like kubectl's, does not block the owner's deletion, so no ``cronjobs/finalizers`` grant.

The Job is labelled with the alarm's kind and the served router version and annotated with the alarm (figures
only; no user text goes into the cluster's store). Its name is the CronJob's, the served version and the cooldown
period it falls in (``rgd-retrain-v3-20795``): every gateway replica that sees the same drift names the same Job,
so the API server creates it once and answers the others 409 (counted as ``exists``). Every outcome is counted
(``rgd_gateway_retrain_jobs_total{result}``: created, exists, forbidden, not_found, http_error, connect,
not_in_cluster, error) and logged; nothing is raised: :meth:`RetrainJobs.create` runs as a task of its own, off
every request's path.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rgd.errors import RGDError

log = logging.getLogger(__name__)

#: where Kubernetes mounts a pod's service-account token, CA and namespace (read when a Job is created)
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
ALARM_LABEL = "rgd.dev/drift-alarm"
VERSION_LABEL = "rgd.dev/router-version"
ALARM_ANNOTATION = "rgd.dev/drift-alarm-event"
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"  # what kubectl create job --from sets: "manual"
RESULTS = ("created", "exists", "forbidden", "not_found", "http_error", "connect", "not_in_cluster", "error")
MAX_NAME = 63  # a Job's name becomes its pods' job-name label value


class _Failed(RGDError):
    """One outcome other than ``created``: counted and logged by :meth:`RetrainJobs.create`, never raised out."""

    def __init__(self, result: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.result, self.message, self.status = result, message, status


@dataclass(frozen=True)
class ApiAccess:
    """How to reach the API server from inside the pod."""

    base_url: str
    token: str
    ca_file: Path
    namespace: str


def in_cluster(service_account_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> ApiAccess:
    """The API server's URL, this pod's token, CA file and namespace; ``not_in_cluster`` when one is missing."""
    directory = service_account_dir or SERVICE_ACCOUNT_DIR
    environ = os.environ if environ is None else environ
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise _Failed("not_in_cluster", "KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod")
    try:
        token = (directory / "token").read_text().strip()
        namespace = (directory / "namespace").read_text().strip()
    except OSError as exc:
        raise _Failed("not_in_cluster", f"no service-account token in {directory} (mount one: k8s/base/gateway.yaml,"
                                        f" volume kube-api-access): {type(exc).__name__}") from None
    ca_file = directory / "ca.crt"
    if not token or not namespace or not ca_file.is_file():
        raise _Failed("not_in_cluster", f"{directory} lacks a token, the namespace or ca.crt")
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return ApiAccess(f"https://{host}:{port}", token, ca_file, namespace)


def _label_value(text: str) -> str:
    """``text`` as a label value: letters, digits, ``-_.``, at most 63, alphanumeric at both ends."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:MAX_NAME].strip("-_.")
    return value or "unknown"


def job_name(cronjob: str, version: str, at: float, period_s: float) -> str:
    """The Job's name: the CronJob's, the served version and the period of ``period_s`` that ``at`` falls in."""
    slug = re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")[:12] or "unknown"
    suffix = f"-v{slug}-{math.floor(at / period_s)}"
    return cronjob[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def job_from_cronjob(cronjob: dict[str, Any], name: str, alarm: dict[str, Any]) -> dict[str, Any]:
    """The Job ``kubectl create job NAME --from=cronjob/...`` would make of ``cronjob`` (the API's object), plus
    the alarm's labels (kind, router version; on the Job and its pods) and the alarm itself as an annotation."""
    template = cronjob["spec"]["jobTemplate"]
    meta = template.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), ALARM_LABEL: _label_value(str(alarm["kind"])),
              VERSION_LABEL: _label_value(str(alarm["router_version"]))}
    annotations = {INSTANTIATE_ANNOTATION: "manual", **(meta.get("annotations") or {}),
                   ALARM_ANNOTATION: json.dumps(alarm, separators=(",", ":"))}
    spec = copy.deepcopy(template["spec"])
    pod_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), ALARM_LABEL: labels[ALARM_LABEL],
                          VERSION_LABEL: labels[VERSION_LABEL]}
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob["metadata"]["name"],
             "uid": cronjob["metadata"]["uid"], "controller": True}  # no blockOwnerDeletion, as kubectl
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": labels, "annotations": annotations, "ownerReferences": [owner]},
            "spec": spec}


class RetrainJobs:
    """Creates a Job from the CronJob ``cronjob`` on an alarm (:meth:`create`); counts every outcome."""

    def __init__(self, cronjob: str, registry, timeout_s: float = 10.0, service_account_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        from prometheus_client import Counter  # the serve extra's, as aiohttp: the rest of this module needs neither

        self.cronjob = cronjob
        self.timeout_s = timeout_s
        self.service_account_dir = service_account_dir
        self.environ = environ
        self.results = Counter("rgd_gateway_retrain_jobs", "Retraining Jobs the gateway asked Kubernetes for on a "
                               "drift alarm, by result (" + ", ".join(RESULTS) + ")", ["result"], registry=registry)
        for result in RESULTS:
            self.results.labels(result=result)

    async def create(self, alarm: dict[str, Any], period_s: float, at: float | None = None) -> dict[str, Any]:
        """Create the Job for ``alarm`` (its event: ``kind``, ``router_version``, the figures); the outcome as
        ``{"cronjob", "job", "result"[, "status", "error"]}``, logged and counted. Never raises."""
        name = job_name(self.cronjob, str(alarm["router_version"]), time.time() if at is None else at, period_s)
        outcome: dict[str, Any] = {"cronjob": self.cronjob, "job": name}
        try:
            await self._create(alarm, name)
            outcome["result"] = "created"
            log.warning("monitoring: retraining Job %s created from CronJob %s (alarm %s, router version %s)",
                        name, self.cronjob, alarm["kind"], alarm["router_version"])
        except _Failed as f:
            outcome.update(result=f.result, error=f.message)
            if f.status is not None:
                outcome["status"] = f.status
            level = logging.INFO if f.result == "exists" else logging.ERROR
            log.log(level, "monitoring: retraining Job %s from CronJob %s: %s (%s)", name, self.cronjob, f.result,
                    f.message)
        except Exception as exc:  # noqa: BLE001 - monitoring never fails anything: logged and counted
            outcome.update(result="error", error=f"{type(exc).__name__}: {exc}")
            log.exception("monitoring: retraining Job %s from CronJob %s failed", name, self.cronjob)
        self.results.labels(result=outcome["result"]).inc()
        return outcome

    async def _create(self, alarm: dict[str, Any], name: str) -> None:
        import aiohttp

        access = in_cluster(self.service_account_dir, self.environ)
        batch = f"{access.base_url}/apis/batch/v1/namespaces/{access.namespace}"
        tls = ssl.create_default_context(cafile=str(access.ca_file))
        headers = {"Authorization": f"Bearer {access.token}", "Accept": "application/json"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                                             headers=headers) as session:
                cronjob = await _json(session.get(f"{batch}/cronjobs/{self.cronjob}", ssl=tls), "get the CronJob")
                job = job_from_cronjob(cronjob, name, alarm)
                await _json(session.post(f"{batch}/jobs", data=json.dumps(job).encode(), ssl=tls,
                                         headers={"Content-Type": "application/json"}), "create the Job")
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise _Failed("connect", f"the API server at {access.base_url}: {type(exc).__name__}: {exc}") from None


async def _json(request, what: str) -> dict[str, Any]:
    """The reply's JSON object; a status of 300 or more as its outcome, with the API's own message."""
    async with request as reply:
        body = await reply.read()
        if reply.status < 300:
            return json.loads(body)
        try:
            message = json.loads(body).get("message") or ""
        except (ValueError, AttributeError):
            message = body[:200].decode(errors="replace")
        result = {403: "forbidden", 404: "not_found", 409: "exists"}.get(reply.status, "http_error")
        raise _Failed(result, f"could not {what}: HTTP {reply.status}: {message}", reply.status)
