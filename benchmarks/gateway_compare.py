"""The routing gateway side by side with a plain proxy and LiteLLM, in front of the same upstreams, in one run.

    python benchmarks/gateway_compare.py --output benchmarks/results/gateway_compare.json \
        [--baseline-src DIR] [--litellm-python .venv-litellm/bin/python] [--repeats 3]
    python benchmarks/gateway_compare.py --output FILE.json --table          # its tables, as in the README
    python benchmarks/gateway_compare.py --output FILE.json --profile rgd-tfidf   # py-spy: FILE.svg, FILE.txt

Loopback only, every part its own process on the same cores: four fake OpenAI-compatible upstreams with a fixed
50 ms latency (``tests/rgd/serving/fake_upstream.py``) and, in front of them, (a) ``passthrough``: a minimal
proxy on the gateway's stack (uvicorn + aiohttp, a bare ASGI app, no routing: ``benchmarks/passthrough_proxy.py``;
the floor); (b) ``litellm``: the LiteLLM proxy (``litellm --config``, one worker as the gateway has one process,
no database, the four upstreams as one model group, a master key, access log off) and, on request
(``--systems``), ``litellm-app``: its ASGI app under uvicorn started directly; (c) ``rgd-tfidf`` and
``rgd-minilm``: ``rgd serve`` with a TF-IDF and a MiniLM CASCAL router (the synthetic pool of the tracking
tests, registered in a temporary MLflow store), live monitoring off (``monitoring.share: 0``), and
``rgd-tfidf-monitored``: the TF-IDF gateway with the default monitoring (2% of requests shadowed). With
``--baseline-src DIR`` (a checkout's root, holding ``rgd/``), ``base-tfidf`` and ``base-minilm`` are the same
gateways run from that code: before / after in the same run. The same client (aiohttp, closed loop, keep-alive,
the ``Load`` of ``gateway_load.py``), the same request bodies and the same client key go to every system, at
concurrency 1, 8, 32 and 64. Every point has questions of its own, never sent before (no gateway answers one from
its prompt cache), the same for every system at that point. Added latency = a system's p50 (p99) minus the p50
(p99) of the same requests at the same concurrency sent straight to the upstreams (round robin over the four),
measured just before, in the same repeat; ratios are taken within a repeat. Each repeat measures every system
at one concurrency before the next (the order of the systems rotates from repeat to repeat). Then the MiniLM
gateway's embedding work at 32 concurrent, with its variants (``VARIANTS``: micro-batching off (``max_batch:
1``), the prompt cache off, one torch thread): on new questions and on a workload whose prompts repeat (1,032
requests over 100 questions).

Bounded: at most 1,280 requests a point, a 30 s client timeout a request; LiteLLM is skipped, and the reason
recorded, when its Python cannot import it or it does not start in 180 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.gateway_load import Load, pct, questions  # noqa: E402
from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import (  # noqa: E402
    CLI,
    chat_body,
    free_port,
    move_alias,
    register,
    wait_for_200,
    write_config,
)

LEVELS = ((1, 80), (8, 320), (32, 800), (64, 1280))
SYSTEMS = ("passthrough", "litellm", "litellm-app", "rgd-tfidf", "rgd-minilm", "base-tfidf", "base-minilm",
           "rgd-tfidf-monitored")
#: measured unless --systems says otherwise: litellm-app (LiteLLM's app under uvicorn started directly) only on
#: request, as it serves at LiteLLM's speed and would double the run's length
DEFAULT_SYSTEMS = tuple(s for s in SYSTEMS if s != "litellm-app")
#: the MiniLM gateway's variants of the embedding runs: its routing config's changes
VARIANTS = {"rgd-minilm-nobatch": {"max_batch": 1}, "rgd-minilm-nocache": {"prompt_cache_size": 0},
            "rgd-minilm-1thread": {"embedder_threads": 1}}
LATENCY_MS = 50
CLIENT_TIMEOUT_S = 30


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


class Server:
    """A server subprocess in its own session, ready once ``ready_path`` answers 200."""

    def __init__(self, name: str, args: list[str], port: int, log: Path, cwd: Path = REPO,
                 env: dict[str, str] | None = None, ready_path: str = "/healthz") -> None:
        self.name, self.port, self.log_path, self.ready_path = name, port, log, ready_path
        self._log = open(log, "w")
        self.proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def wait_ready(self, timeout_s: float = 180) -> None:
        wait_for_200(self.proc, f"http://127.0.0.1:{self.port}{self.ready_path}", timeout_s, self.name, self.tail,
                     poll_s=0.3)

    def tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-2000:]

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def metric_sum(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def gateway_facts(text: str) -> dict:
    """From a gateway's /metrics: its prompt cache's hits and misses, its batches, the embedder's precision."""
    precision = [line.split('"')[1] for line in text.splitlines()
                 if line.startswith("rgd_gateway_embedder_precision{") and line.endswith(" 1.0")]
    batches = metric_sum(text, "rgd_gateway_router_batch_size_count")
    return {"prompt_cache_hits": metric_sum(text, "rgd_gateway_prompt_cache_hits_total"),
            "prompt_cache_misses": metric_sum(text, "rgd_gateway_prompt_cache_misses_total"),
            "router_batches": batches,
            "mean_batch_size": round(metric_sum(text, "rgd_gateway_router_batch_size_sum") / batches, 2) if batches else None,
            "mean_batch_ms": (round(metric_sum(text, "rgd_gateway_router_batch_seconds_sum") / batches * 1000, 2)
                              if batches else None),
            "embedder_precision": precision[0] if precision else None}


def litellm_config(path: Path, upstreams: dict[str, UpstreamProcess]) -> Path:
    """The four upstreams as one model group named as the gateway's public model, shuffled between (LiteLLM's
    default routing); no database, no callbacks, no retries (a failed call is an error, as the others count)."""
    import yaml

    doc = {
        "model_list": [{"model_name": "rgd-router",
                        "litellm_params": {"model": f"openai/{name}", "api_base": u.base_url, "api_key": "fake",
                                           "timeout": CLIENT_TIMEOUT_S}}
                       for name, u in upstreams.items()],
        "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 0},
        "litellm_settings": {"telemetry": False, "num_retries": 0, "request_timeout": CLIENT_TIMEOUT_S},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


QUIET_LOG = {"version": 1, "disable_existing_loggers": False,
             "handlers": {"err": {"class": "logging.StreamHandler"}},
             "loggers": {"uvicorn": {"handlers": ["err"], "level": "WARNING"},
                         "uvicorn.access": {"handlers": ["err"], "level": "WARNING", "propagate": False}}}

LITELLM_APP = (
    "import os, sys, uvicorn\n"
    "from litellm.proxy.proxy_server import app\n"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', access_log=False)\n"
)


def litellm_servers(python: str | None, tmp: Path, upstreams: dict, key: str, which: tuple[str, ...]
                    ) -> tuple[list[Server], dict[str, str]]:
    """The LiteLLM proxies that start, and why each that did not, did not."""
    notes: dict[str, str] = {}
    if python is None:
        return [], {w: "no Python with litellm found (--litellm-python; see benchmarks/README.md)" for w in which}
    probe = subprocess.run([python, "-c", "import litellm.proxy.proxy_server, importlib.metadata as m; "
                            "print(m.version('litellm'))"], capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        return [], {w: f"{python} cannot import litellm.proxy: {probe.stderr.strip()[-500:]}" for w in which}
    notes["version"] = probe.stdout.strip()
    config = litellm_config(tmp / "litellm.yaml", upstreams)
    log_config = tmp / "litellm_log.json"
    log_config.write_text(json.dumps(QUIET_LOG))
    env = {"LITELLM_MASTER_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
           "CONFIG_FILE_PATH": str(config)}
    bindir = Path(python).parent
    servers = []
    for w in which:
        port = free_port()
        if w == "litellm":
            args = [str(bindir / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                    "--num_workers", "1", "--log_config", str(log_config)]
            cli_env = {k: v for k, v in env.items() if k != "CONFIG_FILE_PATH"}
            servers.append(Server(w, args, port, tmp / f"{w}.log", cwd=tmp, env=cli_env,
                                  ready_path="/health/liveliness"))
        else:
            servers.append(Server(w, [python, "-c", LITELLM_APP, str(port)], port, tmp / f"{w}.log", cwd=tmp,
                                  env=env, ready_path="/health/liveliness"))
    return servers, notes


def find_litellm_python(given: str | None) -> str | None:
    candidates = [given] if given else [sys.executable, str(REPO / ".venv-litellm" / "bin" / "python")]
    for c in candidates:
        if c and Path(c).exists() and subprocess.run([c, "-c", "import litellm"], capture_output=True,
                                                     timeout=300).returncode == 0:
            return c
    return None


def rgd_server(name: str, tmp: Path, home: Path, model_name: str, pool: list[dict], key: str, src: Path | None,
               routing: dict | None = None, monitoring: bool = False) -> Server:
    """``rgd serve`` from this checkout (``src`` None) or from ``src``. This checkout's gateways run with live
    monitoring off (``monitoring.share: 0``) unless ``monitoring``: its shadow calls and its estimate process are a
    feature of their own, which the baseline's code does not have; ``rgd-tfidf-monitored`` measures them."""
    uri = f"sqlite:///{home}/mlflow/mlflow.db"
    sections = {"routing": routing} if routing else {}
    if src is None and not monitoring:
        sections["monitoring"] = {"share": 0.0}
    config = write_config(tmp / f"{name}.yaml", model_name=model_name, tracking_uri=uri, pool=pool,
                          auth={"api_keys_env": "RGD_BENCH_KEYS"}, rate_limit={"requests_per_s": 0},
                          poll_interval_s=30.0, **sections)
    port = free_port()
    env = {"RGD_BENCH_KEYS": key, "RGD_HOME": str(home), "MLFLOW_TRACKING_URI": uri}
    cwd = REPO
    if src is not None:  # the baseline's rgd package first on the path; cwd too, as python -c puts it first
        env["PYTHONPATH"] = str(src)
        cwd = src
    args = [sys.executable, "-c", CLI, "serve", "--config", str(config), "--port", str(port)]
    return Server(name, args, port, tmp / f"{name}.log", cwd=cwd, env=env, ready_path="/readyz")


def measure(url_list: list[str], warmup: list[bytes], bodies: list[bytes], concurrency: int, key: str
            ) -> tuple[Load, float]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    load = Load(url_list, bodies, concurrency, warmup=warmup, headers=headers)
    return load, asyncio.run(asyncio.wait_for(load.run(), timeout=CLIENT_TIMEOUT_S * 20))


def point(system: str, server: Server | None, urls: list[str], bodies: list[bytes], concurrency: int, key: str,
          direct: dict | None, repeat: int, workload: str = "distinct") -> dict:
    """One closed-loop run: ``bodies[:concurrency]`` unmeasured (each worker opens its connection with one),
    then the rest, measured."""
    load_before = os.getloadavg()[0]
    cpu0 = tree_cpu_s(server.proc.pid) if server else None
    warmup, bodies = bodies[:concurrency], bodies[concurrency:]
    run, wall = measure(urls, warmup, bodies, concurrency, key)
    row = {"system": system, "workload": workload, "repeat": repeat, "concurrency": concurrency,
           "requests": len(bodies), "rps": round(len(bodies) / wall, 1),
           "p50_ms": round(pct(run.latencies, 50), 2), "p99_ms": round(pct(run.latencies, 99), 2),
           "errors": run.errors, "error_kinds": dict(run.error_kinds),
           "loadavg_1m_before": round(load_before, 2)}
    if server is not None:
        row["cpu_ms_per_request"] = round((tree_cpu_s(server.proc.pid) - cpu0) / (len(bodies) + concurrency) * 1000, 3)
    if direct is not None:
        row["direct_p50_ms"], row["direct_p99_ms"] = direct["p50_ms"], direct["p99_ms"]
        row["added_p50_ms"] = round(row["p50_ms"] - direct["p50_ms"], 2)
        row["added_p99_ms"] = round(row["p99_ms"] - direct["p99_ms"], 2)
    print(f"r{repeat} {system:>13} {workload:>8} c={concurrency:<3} rps={row['rps']:<7} p50={row['p50_ms']:<7} "
          f"p99={row['p99_ms']:<7} added={row.get('added_p50_ms')}/{row.get('added_p99_ms')} errors={row['errors']} "
          f"cpu={row.get('cpu_ms_per_request')}ms/req load={row['loadavg_1m_before']}", flush=True)
    return row


def spread(values: list[float]) -> dict:
    return {"median": round(float(np.median(values)), 3), "min": round(min(values), 3), "max": round(max(values), 3),
            "runs": [round(v, 3) for v in values]}


def ratio(a: float, b: float) -> float | None:
    """a / b where b, the baseline's added latency or throughput, is positive; else None (not a ratio)."""
    return round(a / b, 3) if b > 0 else None


def summarise(rows: list[dict], systems: list[str], levels=LEVELS) -> list[dict]:
    """Per system and concurrency: the median and the spread over repeats of each figure, and the ratios to the
    passthrough and to LiteLLM taken within each repeat (same run, same minute), then their median and spread."""
    out = []
    main = [r for r in rows if "phase" not in r and r["system"] != "direct"]
    by = {(r["system"], r["concurrency"], r["repeat"]): r for r in main}
    for system in systems:
        for c, _ in levels:
            mine = sorted((r for r in main if r["system"] == system and r["concurrency"] == c), key=lambda r: r["repeat"])
            if not mine:
                continue
            s = {"system": system, "concurrency": c, "errors": sum(r["errors"] for r in mine)}
            for f in ("rps", "added_p50_ms", "added_p99_ms", "cpu_ms_per_request"):
                if all(f in r for r in mine):
                    s[f] = spread([r[f] for r in mine])
            for ref in ("passthrough", "litellm", "base-tfidf", "base-minilm", "rgd-tfidf"):
                if ref == system:
                    continue
                pairs = [(r, by.get((ref, c, r["repeat"]))) for r in mine]
                pairs = [(r, o) for r, o in pairs if o is not None]
                if not pairs:
                    continue
                for f in ("added_p50_ms", "added_p99_ms", "rps"):
                    values = [ratio(r[f], o[f]) for r, o in pairs]
                    if any(v is None for v in values):
                        s[f"{f}_vs_{ref}"] = {"runs": values, "note": f"{ref}'s figure <= 0 in a repeat: no ratio"}
                    else:
                        s[f"{f}_vs_{ref}"] = spread(values)
            out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--litellm-python", default=None, help="a Python that imports litellm[proxy] (default: this "
                    "one, else .venv-litellm/bin/python)")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="a checkout's root holding the rgd package to serve as base-tfidf / base-minilm")
    ap.add_argument("--skip-embedding-variants", action="store_true", help="no batching / cache runs")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 repeat, concurrency 1 and 8, 40 requests")
    ap.add_argument("--levels", default=None, help="concurrency:requests pairs, e.g. 32:1000,64:1600 (default: "
                    + ",".join(f"{c}:{n}" for c, n in LEVELS) + ")")
    ap.add_argument("--systems", default=None, help="comma-separated subset of: " + ", ".join(SYSTEMS))
    ap.add_argument("--profile", default=None, metavar="SYSTEM",
                    help="only py-spy on SYSTEM (e.g. rgd-tfidf) through 3,000 requests at 32 concurrent: writes "
                    "OUTPUT's stem + .svg (flame graph) and .txt (the functions by share of samples)")
    ap.add_argument("--profile-concurrency", type=int, default=32, help="with --profile (600 requests below 8)")
    ap.add_argument("--variants", type=json.loads, default=None,
                    help='the MiniLM variants as JSON {"name": {routing fields}} (names start rgd-minilm-)')
    ap.add_argument("--table", action="store_true", help="print OUTPUT's tables as markdown (no run)")
    args = ap.parse_args()
    if args.table:  # summarised again from the runs, as the run itself does
        doc = json.loads(args.output.read_text())
        levels = tuple(tuple(x) for x in doc["conditions"]["levels"])
        doc["summary"] = summarise(doc["runs"], [s for s in SYSTEMS if any(r["system"] == s for r in doc["runs"])],
                                   levels)
        doc["embedding"] = summarise_embedding(doc["runs"])
        print(markdown(doc))
        return
    if args.profile:
        profile(args.output, args.profile, args.baseline_src, c=args.profile_concurrency,
                n=3000 if args.profile_concurrency >= 8 else 600)
        return
    levels = tuple(tuple(int(v) for v in pair.split(":")) for pair in args.levels.split(",")) if args.levels else None
    systems = tuple(args.systems.split(",")) if args.systems else None
    doc = run(args.repeats, args.litellm_python, args.baseline_src, not args.skip_embedding_variants, args.quick,
              systems, levels=levels, variants=args.variants)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.output} ({doc['conditions']['wall_s']} s)")


def run(repeats: int = 3, litellm_python: str | None = None, baseline_src: Path | None = None,
        embedding_variants: bool = True, quick: bool = False, systems_wanted: tuple[str, ...] | None = None,
        during=None, levels: tuple[tuple[int, int], ...] | None = None, variants: dict | None = None) -> dict:
    """The whole comparison (see the module doc); ``during(servers, direct_urls, key)`` instead of it, once every
    server is up (the profile)."""
    levels = levels or (((1, 40), (8, 40)) if quick else LEVELS)
    if quick:
        repeats = 1
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rgd-gateway-compare-"))
    key = "sk-" + secrets.token_hex(32)  # LiteLLM's master key and the gateways' client key
    home = tmp / "home"
    want = set(systems_wanted or DEFAULT_SYSTEMS)
    if baseline_src is None:
        want -= {"base-tfidf", "base-minilm"}
    servers: dict[str, Server] = {}
    upstreams = {}
    notes: dict = {}
    rows: list[dict] = []
    try:
        names = {}
        if any(w.startswith(("rgd-", "base-")) for w in want):
            os.environ["RGD_HOME"] = str(home)
            uri = f"sqlite:///{home}/mlflow/mlflow.db"
            from rgd.tracking.config import configure_mlflow
            from tests.rgd.tracking.synthetic import fit_bundle

            configure_mlflow(uri)
            for kind in ("tfidf", "minilm"):
                if want & {f"rgd-{kind}", f"base-{kind}", f"rgd-{kind}-monitored"}:
                    names[kind] = f"compare-{kind}"
                    bundle = fit_bundle("cascal", embedder_kind=kind).save(tmp / kind)
                    move_alias(names[kind], register(bundle, names[kind], uri))
        from tests.rgd.tracking.synthetic import MODELS

        upstreams = {m: UpstreamProcess(m, latency_ms=LATENCY_MS) for m in MODELS}
        pool = [{"name": m, "base_url": u.base_url, "timeout_s": CLIENT_TIMEOUT_S} for m, u in upstreams.items()]
        direct_urls = [f"{u.base_url}/chat/completions" for u in upstreams.values()]
        pending: list[Server] = []
        if "passthrough" in want:
            port = free_port()
            args = [sys.executable, str(REPO / "benchmarks" / "passthrough_proxy.py"), "--port", str(port)]
            for u in upstreams.values():
                args += ["--upstream", u.base_url]
            pending.append(Server("passthrough", args, port, tmp / "passthrough.log"))
        ll = tuple(w for w in ("litellm", "litellm-app") if w in want)
        if ll:
            started, notes["litellm"] = litellm_servers(find_litellm_python(litellm_python), tmp, upstreams, key, ll)
            pending += started
        for kind, name in names.items():
            if f"rgd-{kind}" in want:
                pending.append(rgd_server(f"rgd-{kind}", tmp, home, name, pool, key, None))
            if f"rgd-{kind}-monitored" in want:
                pending.append(rgd_server(f"rgd-{kind}-monitored", tmp, home, name, pool, key, None, monitoring=True))
            if f"base-{kind}" in want:
                pending.append(rgd_server(f"base-{kind}", tmp, home, name, pool, key, baseline_src))
        if embedding_variants and "rgd-minilm" in want:
            for name, routing in (variants or VARIANTS).items():
                pending.append(rgd_server(name, tmp, home, names["minilm"], pool, key, None, routing))
        for s in pending:
            try:
                s.wait_ready()
                servers[s.name] = s
            except RuntimeError as exc:
                notes.setdefault("not_started", {})[s.name] = str(exc)[-1500:]
                print(f"{s.name} did not start: {str(exc)[-600:]}", flush=True)
                s.stop()
        print(f"setup: {time.perf_counter() - t_start:.0f} s; serving: {', '.join(servers)}", flush=True)
        if during is not None:  # a profile instead of the comparison
            during(servers, direct_urls, key)
            return {}

        # every point its own questions, never sent before (no system answers one from its prompt cache); the
        # same ones to every system at that point
        fresh = iter(chat_body(q) for q in questions(repeats * sum(n + c for c, n in levels), seed=13))
        main_systems = [s for s in SYSTEMS if s in servers]
        for r in range(repeats):
            for c, n in levels:
                bodies = [next(fresh) for _ in range(n + c)]
                direct = point("direct", None, direct_urls, bodies, c, key, None, r)
                rows.append(direct)
                order = main_systems[r % len(main_systems):] + main_systems[: r % len(main_systems)]
                for name in order:
                    rows.append(point(name, servers[name], [servers[name].url], bodies, c, key, direct, r))
        if embedding_variants and "rgd-minilm" in servers:
            rows += embedding_runs(servers, direct_urls, key, repeats, quick)
        notes["gateway_metrics"] = {name: gateway_facts(s.metrics()) for name, s in servers.items()
                                    if name.startswith(("rgd-", "base-"))}
    finally:
        for s in servers.values():
            s.stop()
        # what LiteLLM said of its errors (its 500s), before the logs go with the temporary directory
        notes["log_tails"] = {name: s.log_path.read_text()[-3000:] for name, s in servers.items()
                              if name.startswith("litellm") and s.log_path.exists()}
        for u in upstreams.values():
            u.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "summary": summarise(rows, [s for s in SYSTEMS if any(r["system"] == s for r in rows)], levels),
        "embedding": summarise_embedding(rows),
        "runs": rows, "notes": notes,
        "conditions": {
            "cpu_cores": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "upstream_latency_ms": LATENCY_MS, "levels": [list(x) for x in levels], "repeats": repeats,
            "baseline_src": str(baseline_src) if baseline_src else None,
            "note": "2 cores shared with other jobs; the load generator, every proxy and the upstreams on them",
            "wall_s": round(time.perf_counter() - t_start, 1),
        },
    }


def profile(output: Path, system: str, baseline_src: Path | None, n: int = 3000, c: int = 32) -> None:
    """py-spy on one system's process through one run at ``c`` concurrent (``--nonblocking``: the target is never
    paused): a flame graph and a summary of where its samples fall."""
    spy = Path(sys.executable).parent / "py-spy"
    holder: dict = {}

    def during(servers: dict[str, Server], direct_urls: list[str], key: str) -> None:
        pid = str(servers[system].proc.pid)
        bodies = [chat_body(q) for q in questions(n + c * 5, seed=13)]
        point(system, servers[system], [servers[system].url], bodies[n + c:], c, key, None, -1)  # warm
        svg, raw = output.with_suffix(".svg"), output.with_suffix(".raw.txt")
        spies = [subprocess.Popen([str(spy), "record", "-p", pid, "-r", "200", "--nonblocking", "-f", fmt, "-o",
                                   str(path), "--subprocesses"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for fmt, path in (("flamegraph", svg), ("raw", raw))]
        time.sleep(1.5)
        holder["row"] = point(system, servers[system], [servers[system].url], bodies[:n + c], c, key, None, 0)
        for sp in spies:
            sp.send_signal(signal.SIGINT)
            sp.wait(timeout=60)
        holder["raw"] = raw

    run(systems_wanted=(system,), baseline_src=baseline_src, embedding_variants=False, during=during)
    summary = summarise_stacks(holder["raw"].read_text())
    holder["raw"].unlink()
    row = holder["row"]
    head = (f"py-spy (200 Hz, --nonblocking) on {system} through {row['requests']} requests at {c} concurrent: "
            f"{row['rps']} req/s, {row['cpu_ms_per_request']} ms CPU a request, load {row['loadavg_1m_before']}\n")
    output.with_suffix(".txt").write_text(head + summary)
    print(head + summary)


#: what a sample is doing: the category of its innermost frame that has one (else the last, the event loop)
CATEGORIES = (
    ("embedding + scoring (router)", ("rgd/embedding", "rgd/routers", "torch/", "sentence_transformers", "transformers/",
                                      "numpy/", "scipy/", "sklearn/")),
    ("the batcher's hand-off", ("batcher.py",)),
    ("JSON", ("json/",)),
    ("metrics (prometheus_client)", ("prometheus_client",)),
    ("upstream call (aiohttp client)", ("aiohttp/", "yarl/", "multidict/", "upstream.py")),
    ("HTTP server (uvicorn, httptools)", ("uvicorn/", "httptools")),
    ("ASGI framework (Starlette, FastAPI)", ("starlette/", "fastapi/")),
    ("gateway logic (rgd/serving)", ("rgd/serving",)),
    ("event loop, asyncio and other", ()),
)


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(m in frame for m in markers):
                return name
    return CATEGORIES[-1][0]


def summarise_stacks(raw: str, top: int = 25) -> str:
    """py-spy's collapsed stacks -> the share of samples per category and the functions with the most own
    (innermost) and inclusive samples (line numbers dropped). Idle samples are not counted (py-spy records only
    threads that are running)."""
    import re
    from collections import Counter

    own, incl, cats = Counter(), Counter(), Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f).replace(str(REPO) + "/", "") for f in stack.split(";")]
        frames = [re.sub(r"\(/\S*/site-packages/", "(", f) for f in frames]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        cats[_category(frames)] += n
    out = [f"{total} active samples", "", "by category (of the innermost frame that has one):"]
    out += [f"  {100 * v / total:5.1f}%  {k}" for k, v in cats.most_common()]
    out += ["", f"top {top} functions by own samples:"]
    out += [f"  {100 * v / total:5.1f}%  {k}" for k, v in own.most_common(top)]
    out += ["", f"top {top} functions by inclusive samples:"]
    out += [f"  {100 * v / total:5.1f}%  {k}" for k, v in incl.most_common(top)]
    return "\n".join(out) + "\n"


def _fmt(cell: dict | None, digits: int = 1) -> str:
    """median (min-max) of a spread; '-' where absent; a ratio that could not be taken says so."""
    if not cell:
        return "-"
    if "median" not in cell:
        return "n/a (" + ", ".join("-" if v is None else f"{v:.2f}" for v in cell["runs"]) + ")"
    m, lo, hi = cell["median"], cell["min"], cell["max"]
    return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def markdown(doc: dict) -> str:
    """The README's tables: every system at every concurrency, then its ratios, then the embedding variants."""
    out = ["| system | concurrency | req/s | added p50 ms | added p99 ms | errors | CPU ms/req |",
           "|---|---|---|---|---|---|---|"]
    for s in doc["summary"]:
        out.append(f"| {s['system']} | {s['concurrency']} | {_fmt(s.get('rps'))} | {_fmt(s.get('added_p50_ms'))} | "
                   f"{_fmt(s.get('added_p99_ms'))} | {s['errors']} | {_fmt(s.get('cpu_ms_per_request'), 2)} |")
    out += ["", "| system | concurrency | added p50 / passthrough | added p99 / passthrough | added p50 / LiteLLM | "
            "added p99 / LiteLLM | req/s / LiteLLM | req/s / baseline (same embedder) | added p99 / rgd-tfidf's |",
            "|---|---|---|---|---|---|---|---|---|"]
    for s in doc["summary"]:
        if not s["system"].startswith(("rgd-", "base-")):
            continue
        base = "base-" + s["system"].split("-", 1)[1] if s["system"].startswith("rgd-") else None
        out.append(f"| {s['system']} | {s['concurrency']} | {_fmt(s.get('added_p50_ms_vs_passthrough'), 2)} | "
                   f"{_fmt(s.get('added_p99_ms_vs_passthrough'), 2)} | {_fmt(s.get('added_p50_ms_vs_litellm'), 2)} | "
                   f"{_fmt(s.get('added_p99_ms_vs_litellm'), 2)} | {_fmt(s.get('rps_vs_litellm'), 2)} | "
                   f"{_fmt(s.get(f'rps_vs_{base}'), 2) if base else '-'} | "
                   f"{_fmt(s.get('added_p99_ms_vs_rgd-tfidf'), 2) if 'minilm' in s['system'] else '-'} |")
    if doc.get("embedding"):
        out += ["", "| MiniLM gateway (32 concurrent) | workload | req/s | added p50 ms | added p99 ms | errors |",
                "|---|---|---|---|---|---|"]
        for s in doc["embedding"]:
            out.append(f"| {s['system']} | {s['workload']} | {_fmt(s['rps'])} | {_fmt(s['added_p50_ms'])} | "
                       f"{_fmt(s['added_p99_ms'])} | {s['errors']} |")
    return "\n".join(out)


def repeated_bodies(n: int, distinct: int, seed: int = 5) -> list[bytes]:
    """``n`` requests over ``distinct`` questions, each drawn uniformly at random (a workload whose prompts
    repeat: the prompt cache's case)."""
    rng = np.random.default_rng(seed)
    qs = questions(distinct, seed=seed)
    return [chat_body(qs[i]) for i in rng.integers(0, distinct, size=n)]


def embedding_runs(servers: dict[str, Server], direct_urls: list[str], key: str, repeats: int, quick: bool
                   ) -> list[dict]:
    c, n = (8, 40) if quick else (32, 1000)
    names = [s for s in servers if s.startswith("rgd-minilm")] + [s for s in ("base-minilm",) if s in servers]
    distinct = iter(chat_body(q) for q in questions(repeats * (n + c), seed=29))
    rows = []
    for r in range(repeats):
        workloads = {"distinct": [next(distinct) for _ in range(n + c)],  # new to every gateway
                     "repeated": repeated_bodies(n + c, 100, seed=5 + r)}  # 100 questions, asked ~10 times each
        for workload, bodies in workloads.items():
            direct = point("direct", None, direct_urls, bodies, c, key, None, r, workload)
            rows.append(direct)
            for name in names:
                rows.append(point(name, servers[name], [servers[name].url], bodies, c, key, direct, r, workload))
    return [dict(row, phase="embedding") for row in rows]


def summarise_embedding(rows: list[dict]) -> list[dict]:
    emb = [r for r in rows if r.get("phase") == "embedding" and r["system"] != "direct"]
    out = []
    for system in sorted({r["system"] for r in emb}):
        for workload in ("distinct", "repeated"):
            mine = [r for r in emb if r["system"] == system and r["workload"] == workload]
            if mine:
                out.append({"system": system, "workload": workload, "concurrency": mine[0]["concurrency"],
                            "errors": sum(r["errors"] for r in mine),
                            **{f: spread([r[f] for r in mine]) for f in ("rps", "added_p50_ms", "added_p99_ms")}})
    return out


if __name__ == "__main__":
    main()
