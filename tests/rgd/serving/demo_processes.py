"""The local demo's pieces for tests: a router over the embedded default's simulated pool, ``rgd demo-upstreams``
and ``rgd serve`` as subprocesses on loopback, with a clean environment (no ``MLFLOW_*`` variable)."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import yaml

from tests.rgd.serving.gateway_process import CLI, REPO_ROOT, free_port, stop_group

DEMO_CONFIG = REPO_ROOT / "configs" / "serve" / "demo.yaml"


def simulated_bundle(directory: Path) -> Path:
    """A CASCAL router (TF-IDF) fitted without labels on the embedded default's world and pool: it ranks the
    nine models ``rgd demo-upstreams`` serves, as a router from ``rgd run`` does."""
    from rgd.config.run_config import embedded_default
    from rgd.consensus import ConsensusScorer
    from rgd.embedding import make_embedder
    from rgd.routers.base import TrainingSet
    from rgd.routers.bundle import RouterBundle
    from rgd.routers.coverage import Coverage
    from rgd.routers.registry import make_router
    from rgd.simulated.pool import SimulatedPool
    from rgd.simulated.world import World

    sim = embedded_default().simulated
    world = World(sim.world)
    pool = SimulatedPool(world, sim.pool)
    questions, _ = world.benchmark(400, 0, seed=5)
    table = pool.answer_table(questions)
    texts = [q.text for q in questions]
    embedder = make_embedder("tfidf", n_components=16)
    embedder.fit(texts)
    router = make_router("cascal", min_points=5)
    x = embedder.embed(texts)
    router.fit(TrainingSet(table.with_answers(np.full(table.n_questions, -1)), x, ConsensusScorer().fit_score(table)))
    return RouterBundle(router, embedder, {"router": "cascal"}, coverage=Coverage.fit(x)).save(directory)


def free_port_range(n: int) -> int:
    """A first port such that it and the ``n - 1`` after it are free on loopback now."""
    for _ in range(100):
        base = random.randint(20000, 60000 - n)
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without MLflow's variables (a newcomer's shell), plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **extra}


def get(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def post_chat(url: str, question: str, model: str = "rgd-router", timeout: float = 30) -> tuple[int, dict, dict]:
    """(status, headers with lower-case names, body)"""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": question}]}).encode()
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, json.loads(e.read() or b"{}")


class Process:
    """A ``rgd`` command in its own session, output to a log file, stopped by its process group."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str], cwd: Path = REPO_ROOT) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-c", CLI, *args], cwd=cwd, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def wait_for(self, url: str, timeout_s: float, want: int = 200) -> dict:
        """Poll ``url`` until it answers ``want``; RuntimeError (with the log) when the process exits or time is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited ({self.proc.returncode}): {self.log()[-3000:]}")
            try:
                status, doc = get(url, timeout=2)
                if status == want:
                    return doc
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {want} from {url} in {timeout_s} s: {self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        stop_group(self.proc, self._log)


class DemoUpstreamsProcess(Process):
    """``rgd demo-upstreams --base-port B`` on free ports, waited for until its last model answers."""

    def __init__(self, log_path: Path, n_models: int = 9, timeout_s: float = 60) -> None:
        self.base_port = free_port_range(n_models)
        super().__init__(["demo-upstreams", "--base-port", str(self.base_port)], log_path, clean_env())
        self.wait_for(f"http://127.0.0.1:{self.base_port + n_models - 1}/v1/models", timeout_s)


def demo_config(path: Path, base_port: int, **registry) -> tuple[Path, int]:
    """The shipped ``configs/serve/demo.yaml`` with its upstreams moved to ``base_port``, ``base_port + 1``, ...
    (their order kept) and the gateway on a free port; ``registry`` fields override the shipped ones."""
    doc = yaml.safe_load(DEMO_CONFIG.read_text())
    for i, entry in enumerate(doc["pool"]):
        entry["base_url"] = f"http://127.0.0.1:{base_port + i}/v1"
    port = free_port()
    doc["server"]["port"] = port
    doc["registry"].update(registry)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, port
