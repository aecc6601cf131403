"""Build and launch the RGD pipelines from a run-config file: the ZenML side of ``rgd run`` and ``rgd schedule``.

A run-config file comes in one of two shapes, a plain RGD config or a ZenML run configuration carrying it
under ``extra.rgd``; :mod:`rgd.config.run_file` parses both.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rgd.config.run_config import RunConfig, embedded_default
from rgd.config.run_file import load_run_file, parse_run_file  # noqa: F401 - re-exported
from rgd.config.run_file import zenml_shaped as _zenml_shaped
from rgd.data.yaml_file import read_yaml
from rgd.errors import ParameterError, RGDError


def load(config_path: Path | None, generator: str | None = None) -> tuple[RunConfig, dict[str, Any]]:
    """The run's config (the embedded default when no file is given), with ``--generator`` applied."""
    if config_path is None:
        config, zenml_cfg = embedded_default(), {}
    else:
        data = read_yaml(config_path)
        config, zenml_cfg = parse_run_file(data, str(config_path))
        if not _zenml_shaped(data):
            config = resolve_data_dirs(config, repository_root(Path(config_path)))
    if generator:
        config = config.with_generator_preset(generator)
        config = config.model_copy(update={"name": f"{config.name}-{generator}"})
    return config, zenml_cfg


def repository_root(config_file: Path) -> Path:
    """The repository a config file belongs to: the nearest directory above it holding ``.git`` or
    ``pyproject.toml``; the file's own directory when there is none."""
    start = config_file.resolve().parent
    for d in (start, *start.parents):
        if (d / ".git").exists() or (d / "pyproject.toml").is_file():
            return d
    return start


def resolve_data_dirs(config: RunConfig, root: Path) -> RunConfig:
    """``recorded.dir``, ``test_set.dir`` and a recorded replay's ``dir`` / ``answers`` made absolute against ``root`` where relative (README: paths in a
    run config are relative to the repository root, wherever ``rgd`` runs). Plain configs only: the paths of a
    ZenML-shaped (Kubernetes) config are the pods' and stay as they are."""
    update: dict[str, Any] = {}
    for section in ("recorded", "test_set"):
        spec = getattr(config, section)
        if spec is not None and not Path(spec.dir).is_absolute():
            update[section] = spec.model_copy(update={"dir": str(root / spec.dir)})

    def replay_paths(spec: Any, keys: tuple[str, ...]) -> Any:  # a recorded replay's directory and answers file
        if spec.kind != "recorded":
            return spec
        params = {k: (str(root / v) if k in keys and isinstance(v, str) and not Path(v).is_absolute() else v)
                  for k, v in spec.params.items()}
        return spec.model_copy(update={"params": params})

    generators = [replay_paths(g, ("dir", "answers")) for g in config.generators]
    if generators != config.generators:
        update["generators"] = generators
    if config.pool.kind == "recorded":
        update["pool"] = replay_paths(config.pool, ("dir",))
    return config.model_copy(update=update) if update else config


def build_pipeline(config: RunConfig, zenml_cfg: dict[str, Any], config_file: Path | None, schedule=None):
    """The pipeline for ``config`` with the ZenML run configuration applied."""
    from pipelines.recorded import rgd_recorded
    from pipelines.training import rgd_training

    pipe = rgd_recorded if config.pipeline == "recorded" else rgd_training
    options: dict[str, Any] = {}
    if schedule is not None:
        options["schedule"] = schedule
    if zenml_cfg:
        # the file as ZenML reads it (ZenML-shaped files as they are; plain files: their zenml: block)
        data = dict(zenml_cfg)
        if config_file is not None and "extra" not in data:
            raw = read_yaml(config_file)
            if _zenml_shaped(raw):
                data = raw
                if "enable_cache" in zenml_cfg:  # rgd run --no-cache overrides the file's setting
                    data["enable_cache"] = zenml_cfg["enable_cache"]
        if schedule is not None:
            data.pop("schedule", None)
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}  # YAML anchor holders
        fd, tmp = tempfile.mkstemp(prefix="rgd-zenml-", suffix=".yaml")
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(data, fh)
        options["config_path"] = tmp
    return pipe.with_options(**options) if options else pipe


# ---------------------------------------------------------------------------------------------- preflight
def preflight(config: RunConfig) -> None:
    """Check before any step runs what can be checked without the data being produced: the embedder and
    router parameters (each constructed), then what the run's source checks (backend parameters, the pool's
    model names, the subjects, the test-set and recorded directories: :func:`rgd.workflow.sources.source_for`).
    Raises the library's :class:`ParameterError` / :class:`DataError` naming the field."""
    from rgd.embedding import make_embedder
    from rgd.routers.registry import make_router
    from rgd.workflow.sources import source_for
    from rgd.workflow.train import seeded_params

    try:
        embedder = make_embedder(config.embedder.kind, **config.embedder.params)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"embedder.params: {exc}") from None
    if hasattr(embedder, "check_available"):  # a pretrained model that is nowhere: now, not in the embed step
        embedder.check_available()
    for name in dict.fromkeys([config.router.name, *config.router.baselines]):
        params = config.router.params if name == config.router.name else {}
        try:
            make_router(name, **seeded_params(name, params, config.seed))
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"router {name!r}: {exc}") from None
    source_for(config).preflight()


def _is_transient(exc: BaseException) -> bool:
    from rgd.llm.backends.errors import TransientError
    from rgd.workflow.respond import InjectedFailure

    if isinstance(exc, (TransientError, InjectedFailure, ConnectionError, TimeoutError)):
        return True
    deterministic = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)
    return isinstance(exc, OSError) and not isinstance(exc, deterministic)


def failure_details(exc: BaseException, max_lines: int = 20) -> str:
    """The root cause's message after its first line (a generator's output sample, say), at most
    ``max_lines`` lines; empty for a one-line message."""
    root = _root_cause(exc)[0]
    rest = str(root).strip().splitlines()[1:]
    return "\n".join(rest[:max_lines] + (["..."] if len(rest) > max_lines else []))


_TRANSIENT_NAMES = frozenset({"TransientError", "InjectedFailure", "ConnectionError", "ConnectionResetError",
                              "ConnectionRefusedError", "ConnectionAbortedError", "BrokenPipeError", "TimeoutError",
                              "OSError"})
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failure))(?::|$)")


def step_failure_summary(step: str, exception_info: Any) -> tuple[str, bool, str]:
    """One failed step's cause from what the orchestrator recorded (its ``exception_info``: the exception's
    class path, message and traceback text): the one-line cause, whether it is transient (a class of the
    chain in the traceback is one a rerun may get past) and the rest of the message."""
    tb = getattr(exception_info, "traceback", None) or ""
    names = [m.group(1).rsplit(".", 1)[-1] for line in tb.splitlines() if (m := _EXCEPTION_LINE.match(line.strip()))]
    source = (getattr(exception_info, "source", None) or "").rsplit(".", 1)[-1] or (names[-1] if names else "Error")
    lines = (getattr(exception_info, "message", None) or "").strip().splitlines() or [""]
    transient = any(n in _TRANSIENT_NAMES for n in [*names, source])
    return f"step {step}: {source}: {lines[0]}".rstrip(": "), transient, "\n".join(lines[1:21])


def failed_steps(pipeline_name: str) -> list[tuple[str, bool, str]]:
    """:func:`step_failure_summary` of every failed step of the pipeline's last run (the local orchestrator
    raises only "failure in step(s): X"; the cause is in the run's records)."""
    from zenml.client import Client

    try:
        run = Client().get_pipeline(pipeline_name).last_run
    except Exception:  # noqa: BLE001 - no run recorded: nothing to add to the exception itself
        return []
    out = []
    for name, s in run.steps.items():
        info = getattr(s, "exception_info", None)
        if "failed" in str(s.status).lower() and info is not None:
            out.append(step_failure_summary(name, info))
    return out


def _root_cause(exc: BaseException) -> tuple[BaseException, list[BaseException]]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    ours = [e for e in chain if isinstance(e, RGDError)]
    return (ours[-1] if ours else chain[-1]), chain


def failure_summary(exc: BaseException) -> tuple[str, bool]:
    """The root cause of a failed run as one line (``Type: first line of its message``), and whether it is a
    transient failure that a rerun may get past (a backend still failing after its retries, an injected
    failure, an OS error other than a missing or forbidden file). The root cause is the innermost of the
    library's errors in the chain of causes, else the innermost exception."""
    root, chain = _root_cause(exc)
    text = (str(root).strip().splitlines() or [""])[0]
    line = f"{type(root).__name__}: {text}" if text else type(root).__name__
    return line, any(_is_transient(e) for e in chain)
