"""Run ``rgd serve`` as a subprocess on a free loopback port, and register small routers for it to serve.

Shared by the gateway tests and ``benchmarks/gateway_load.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = "import sys; from rgd.cli import main; sys.exit(main())"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, *, model_name: str, tracking_uri: str, pool: list[dict], poll_interval_s: float = 0.5,
                 **sections) -> Path:
    """A gateway config; ``sections`` add to it (``registry``'s fields to the ones given here)."""
    registry = {"model_name": model_name, "tracking_uri": tracking_uri, "poll_interval_s": poll_interval_s,
                **sections.pop("registry", {})}
    doc = {"registry": registry, "pool": pool, **sections}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def wait_for_200(proc: subprocess.Popen, url: str, timeout_s: float, name: str, tail, poll_s: float = 0.2) -> None:
    """Wait until ``url`` answers 200; a RuntimeError naming ``name`` with ``tail()`` (the log's end) when the
    process exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}): {tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: no 200 from {url} in {timeout_s} s: {tail()}")
        time.sleep(poll_s)


def stop_group(proc: subprocess.Popen, log, timeout: float = 15) -> None:
    """Stop a process started with ``start_new_session``: SIGTERM to its group, SIGKILL after ``timeout`` s; close
    its log."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.close()


class GatewayProcess:
    """``rgd serve`` started and waited for: until ``wait_for`` answers 200 (``/healthz``: only alive)."""

    def __init__(self, config: Path, env: dict[str, str], log_path: Path, timeout_s: float = 120,
                 verbose: bool = True, wait_for: str = "/readyz") -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "w")
        args = [sys.executable, "-c", CLI] + (["-v"] if verbose else []) + ["serve", "--config", str(config),
                                                                            "--port", str(self.port)]
        self.proc = subprocess.Popen(args, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_200(self.proc, f"{self.url}{wait_for}", timeout_s, "gateway", lambda: self.log()[-3000:])
        except RuntimeError:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as resp:
            return resp.read().decode()

    def stop(self) -> None:
        stop_group(self.proc, self._log)


def register(bundle_dir: Path, model_name: str, tracking_uri: str) -> str:
    """Log and register a saved bundle; returns its version (no alias set)."""
    from rgd.tracking import log_router

    rv = log_router(bundle_dir, model_name=model_name, metrics={"top1": 0.5}, tags={"test_set_id": "t"},
                    tracking_uri=tracking_uri, input_examples=["which enzyme binds the cell membrane protein?"])
    return rv.version


def move_alias(model_name: str, version: str, alias: str = "champion") -> None:
    from rgd.tracking import set_alias_manually

    set_alias_manually(model_name, version, alias, reason="gateway test")


def chat_body(question: str, model: str = "rgd-router", **extra) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": question}], **extra}).encode()
