"""Runs a killed ``rgd run`` left behind in "running", marked failed by the next ``rgd run`` on the same home.

The local orchestrator runs the pipeline inside the ``rgd run`` process: when that process is killed
(SIGKILL, OOM, a closed laptop), ZenML never hears of it and the run stays "running" forever. Every
``rgd run`` holds a shared lock on ``$RGD_HOME/zenml/active-runs.lock`` while it runs; a new one that can take
the lock exclusively knows that no other ``rgd run`` is alive on this home, so every unfinished run of a
local orchestrator there is stale: it is marked failed, with the reason, before the new run starts.
The first use of a fresh home initialises ZenML's store under ``init.lock``, one process at a time.

Runs on a remote orchestrator (Kubernetes) are left alone: their pods outlive the client; stop one with
``zenml pipeline runs stop <id>`` (or delete its Job) and it is marked by ZenML itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

LOCAL_ORCHESTRATORS = frozenset({"local", "local_docker"})
REASON = "marked failed by the next `rgd run`: the process that ran it ended without finishing it (killed?)"


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def mark_stale_runs_failed() -> list[str]:
    """Mark every unfinished run of a local orchestrator failed (call only when no rgd run is alive)."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate, StepRunUpdate
    from zenml.utils.time_utils import utc_now

    client = Client()
    marked = []
    for run in client.list_pipeline_runs(size=200, sort_by="desc:created", hydrate=True).items:
        if ExecutionStatus(run.status).is_finished:
            continue
        orchestrators = (run.stack.components.get("orchestrator") or []) if run.stack else []
        if not orchestrators or orchestrators[0].flavor_name not in LOCAL_ORCHESTRATORS:
            continue
        now = utc_now()
        for step in run.steps.values():
            if not ExecutionStatus(step.status).is_finished:
                client.zen_store.update_run_step(step.id, StepRunUpdate(status=ExecutionStatus.FAILED, end_time=now))
        client.zen_store.update_run(run.id, PipelineRunUpdate(status=ExecutionStatus.FAILED, status_reason=REASON))
        marked.append(run.name)
        log.warning("pipeline run %s was left running by a killed `rgd run`: marked failed", run.name)
    return marked


@contextlib.contextmanager
def active_run(home: Path) -> Iterator[list[str]]:
    """Hold for the whole of an ``rgd run``: initialises the store once, marks stale runs failed when no
    other ``rgd run`` is alive on ``home``; yields the names of the runs it marked."""
    zdir = Path(home) / "zenml"
    with _flock(zdir / "init.lock", fcntl.LOCK_EX):
        from zenml.client import Client

        Client().zen_store  # noqa: B018 - creates and migrates a fresh store, one process at a time
        path = zdir / "active-runs.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except BlockingIOError:
                alone = False
            marked = mark_stale_runs_failed() if alone else []
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
    try:
        yield marked
    finally:
        os.close(fd)
