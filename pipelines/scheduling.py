"""Scheduled runs: a ZenML Schedule on an orchestrator that runs schedules (Kubernetes: a CronJob);
on the local orchestrator, the crontab line that would run ``rgd run`` instead."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rgd.errors import DataError

SCHEDULING_FLAVORS = ("kubernetes",)


def _check_cron(cron: str) -> None:
    fields = cron.split()
    if len(fields) != 5:
        raise DataError(f"cron expression {cron!r} must have 5 fields (minute hour day month weekday)")


def cron_line(cron: str, config_path: Path) -> str:
    """The crontab line that runs ``rgd run --config FILE`` with this RGD_HOME."""
    from rgd.home import rgd_home

    home = str(rgd_home())
    rgd = Path(sys.executable).with_name("rgd")
    cmd = f"cd {shlex.quote(str(Path.cwd()))} && RGD_HOME={shlex.quote(home)} {shlex.quote(str(rgd))} run " \
          f"--config {shlex.quote(str(Path(config_path).resolve()))}"
    return f"{cron} {cmd} >> {shlex.quote(home)}/schedule.log 2>&1"


def create_schedule(cron: str, config_path: Path, name: str | None = None) -> str:
    """Create the schedule (returns what was done, for the user)."""
    from zenml.client import Client
    from zenml.config.schedule import Schedule

    from pipelines.launch import build_pipeline, load

    _check_cron(cron)
    config, zenml_cfg = load(config_path)
    orchestrator = Client().active_stack.orchestrator
    if orchestrator.flavor not in SCHEDULING_FLAVORS:
        return (f"the active ZenML stack's orchestrator ({orchestrator.flavor}) does not run schedules; "
                f"add this line to your crontab (crontab -e) to run it:\n{cron_line(cron, config_path)}")
    name = name or f"rgd-{config.name}"
    pipe = build_pipeline(config, zenml_cfg, config_path, schedule=Schedule(name=name, cron_expression=cron))
    pipe(config=config)
    return f"created schedule {name!r} ({cron}) for {config.name!r} on orchestrator {orchestrator.name}"


def list_schedules() -> list[dict]:
    from zenml.client import Client

    return [{"name": s.name, "cron_expression": s.cron_expression, "active": s.active,
             "pipeline": getattr(getattr(s, "pipeline", None), "name", None)}
            for s in Client().list_schedules(size=100).items]


def delete_schedule(name: str) -> None:
    from zenml.client import Client

    Client().delete_schedule(name)
