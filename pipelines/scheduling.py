"""Scheduled runs: a ZenML Schedule on an orchestrator that runs schedules (Kubernetes: a CronJob);
on the local orchestrator, the crontab line that would run ``rgd run`` instead."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rgd.errors import DataError

SCHEDULING_FLAVORS = ("kubernetes",)


#: (name, lowest, highest, names) of the five cron fields
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day-of-week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def _cron_value(text: str, low: int, names: tuple[str, ...]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low if low == 1 else names.index(lowered)
    if not text.isdigit():
        raise ValueError
    return int(text)


def _check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    problem = (f"cron {name} field {text!r} is not valid: use *, a number, a range a-b, a step */n or a-b/n, "
               f"or a comma-separated list, with values in {low}-{high}")
    for part in text.split(","):
        base, _, step = part.partition("/")
        try:
            if step and (not step.isdigit() or int(step) < 1):
                raise ValueError
            if base == "*":
                continue
            first, dash, last = base.partition("-")
            lo = _cron_value(first, low, names)
            hi = _cron_value(last, low, names) if dash else lo
            if not (low <= lo <= hi <= high):
                raise ValueError
        except ValueError:
            raise DataError(problem) from None


def check_cron(cron: str) -> None:
    """A standard five-field cron expression, every field within its range; :class:`DataError` naming the field."""
    fields = cron.split()
    if len(fields) != 5:
        raise DataError(f"cron expression {cron!r} must have 5 fields (minute hour day month weekday)")
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS):
        _check_cron_field(text, name, low, high, names)


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

    from pipelines.launch import build_pipeline, load, preflight

    check_cron(cron)
    config, zenml_cfg = load(config_path)
    preflight(config)
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
