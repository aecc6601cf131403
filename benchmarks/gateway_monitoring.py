"""The gateway's latency with live monitoring on against off (issue 24.3), in the same run, on loopback only.

    python benchmarks/gateway_monitoring.py --output benchmarks/results/gateway_monitoring.json [--repeats 5]
    python benchmarks/gateway_monitoring.py --output unused --hooks-only   # the request-path hooks and one estimate, in-process

The machinery of ``benchmarks/gateway_load.py``: a temporary MLflow store with the synthetic pool's TF-IDF CASCAL
router registered, four fake upstreams with a fixed 50 ms latency, the gateways as ``rgd serve`` subprocesses and
this script as the closed-loop load generator. Three gateways run side by side on the same upstreams: monitoring
``off`` (share 0), ``on`` (the defaults: share 0.02, at most 5 requests shadowed a second) and ``on_unbounded``
(share 0.02 with the rate bound lifted, so that 2% of the requests really are shadowed at any load); the
estimate is refreshed every 30 s (the default), in a process of its own that shares the cores. Each gateway
first gets 600 unmeasured requests and one estimate (which starts the estimate's process: a one-off ~1.3 s of
CPU, not in the measured runs). Top-1 at
concurrency 16 (600 requests) and 64 (2,000), ``--repeats`` rounds, the variants in a rotated order each round;
each run's overhead is its p99 (p50) minus the p99 (p50) of the same requests sent straight to the upstreams at
the same concurrency just before it. The row per variant and point is the median run by overhead p99; the ratio
is the median overhead p99 with monitoring over that without; beside it the median of the rounds' own ratios, and
the ratio of the gateway's CPU per request, its children (the estimate's process) included: on 2 shared cores the
p99 moves by tens of ms from run to run, the CPU per request by a few percent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from gateway_load import KEY, gateway_for, measure, median_run, process_cpu_s, questions, run_pair  # noqa: E402

from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import chat_body, move_alias, register  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS, fit_bundle  # noqa: E402

VARIANTS = {
    "off": {"share": 0.0},
    "on": {},
    "on_unbounded": {"max_per_s": 100000.0, "max_concurrency": 256},
}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the estimate's spawned worker and its resource tracker)."""
    total = process_cpu_s(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += process_cpu_s(int(stat.parent.name))
    return total


def hook_cost_us(n: int = 200_000) -> dict[str, float]:
    """Microseconds a request spends in monitoring's request-path hooks (Shadow.seen and Shadow.sample), in this
    process, at share 0 and 0.02 (with the default rate bound nothing is launched past 5 a second)."""
    from prometheus_client import CollectorRegistry

    from rgd.serving.config import parse_gateway_config
    from rgd.serving.shadow import Shadow
    from rgd.serving.upstream import OutgoingBody, Upstream, UpstreamReply

    config = parse_gateway_config({"pool": [{"name": m, "base_url": "http://127.0.0.1:1/v1"} for m in MODELS]})
    upstreams = {u.name: Upstream(u, config.breaker) for u in config.pool}
    body, reply, ranking = OutgoingBody({"messages": []}), UpstreamReply(200, b"{}", "application/json", 0.01), list(MODELS)
    out = {}
    for share in (0.0, 0.02):
        shadow = Shadow(config.monitoring.model_copy(update={"share": share}), upstreams, CollectorRegistry())
        t = time.perf_counter()
        for i in range(n):
            shadow.seen("1", MODELS, i % 7, False, 1, "q")
            shadow.sample(ranking, MODELS[0], body, reply, "q", i % 7)
        out[f"share_{share}"] = round((time.perf_counter() - t) / n * 1e6, 2)
    return out


def estimate_cost_s(window: int = 2000, clusters: int = 50) -> float:
    """Seconds of one estimate over a full window (simulated answers: a routed model and two of four shadows)."""
    import numpy as np

    from rgd.serving.monitor import Observation, estimate

    rng = np.random.default_rng(0)
    obs = []
    for q in range(window):
        truth, voters = int(rng.integers(4)), [0, *(int(m) for m in rng.choice([1, 2, 3, 4], 2, replace=False))]
        choices = tuple((m, truth if rng.random() < 0.7 else int((truth + rng.integers(1, 4)) % 4)) for m in voters)
        obs.append(Observation(q % clusters, 4, 0, choices))
    t = time.perf_counter()
    estimate(obs, 5, 30)
    return round(time.perf_counter() - t, 3)


def monitor_report(url: str) -> dict:
    req = urllib.request.Request(f"{url}/v1/rgd/monitor?refresh=true", headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hooks-only", action="store_true", help="print the request-path hooks' cost and exit")
    args = ap.parse_args()
    if args.hooks_only:
        print(json.dumps({"request_path_us": hook_cost_us(), "estimate_s_2000_requests_50_clusters": estimate_cost_s()}))
        return
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rgd-gateway-monitoring-"))
    home = tmp / "home"
    os.environ["RGD_HOME"] = str(home)
    uri = f"sqlite:///{home}/mlflow/mlflow.db"
    from rgd.tracking.config import configure_mlflow

    configure_mlflow(uri)
    name = "bench-monitoring"
    move_alias(name, register(fit_bundle("cascal").save(tmp / "tfidf"), name, uri))
    qs = questions(2000)
    upstreams = {m: UpstreamProcess(m, latency_ms=50, answer="B") for m in MODELS}
    pool = [{"name": m, "base_url": u.base_url, "timeout_s": 10} for m, u in upstreams.items()]
    direct_urls = [f"{u.base_url}/chat/completions" for u in upstreams.values()]
    gateways = {}
    rows: dict[tuple[str, int], list[dict]] = {}
    try:
        for variant, monitoring in VARIANTS.items():
            gateways[variant] = gateway_for(tmp, home, name, pool, variant, monitoring=monitoring)
        warm = [chat_body(q) for q in qs[:600]]
        for gw in gateways.values():  # unmeasured: connections, the router, and the estimate's process started
            measure([f"{gw.url}/v1/chat/completions"], warm, 16)
            monitor_report(gw.url)
        print(f"setup and warm-up: {time.perf_counter() - t_start:.0f} s", flush=True)
        order = list(VARIANTS)
        for r in range(args.repeats):
            for c, n in ((16, 600), (64, 2000)):
                bodies = [chat_body(q) for q in qs[:n]]
                for variant in order[r % len(order):] + order[: r % len(order)]:
                    gw = gateways[variant]
                    cpu = tree_cpu_s(gw.proc.pid)
                    row = run_pair(variant, "tfidf", "top1", f"{gw.url}/v1/chat/completions", direct_urls, bodies,
                                   bodies, c, "fake_50ms", gw.proc.pid)
                    row["round"] = r
                    # the run's requests, the warm-up's (one a worker) and the direct reference's share of nothing
                    row["tree_cpu_ms_per_request"] = round((tree_cpu_s(gw.proc.pid) - cpu) / (n + c) * 1000, 3)
                    rows.setdefault((variant, c), []).append(row)
                    time.sleep(0.5)  # the last shadow calls end before the next run's direct reference
        reports = {v: monitor_report(gw.url) for v, gw in gateways.items()}
    finally:
        for gw in gateways.values():
            gw.stop()
        for u in upstreams.values():
            u.kill()
    runs = []
    for (variant, _c), repeats in rows.items():
        runs.append({"variant": variant, **median_run(repeats)})
    ratios = {}
    med = lambda xs: float(sorted(xs)[len(xs) // 2])  # noqa: E731 - of an even count, the higher middle one
    for c in (16, 64):
        base = next(r for r in runs if r["variant"] == "off" and r["concurrency"] == c)
        for variant in ("on", "on_unbounded"):
            row = next(r for r in runs if r["variant"] == variant and r["concurrency"] == c)
            pairs = list(zip(rows[("off", c)], rows[(variant, c)]))  # the same round: minutes apart at most
            ratios[f"{variant}_c{c}"] = {
                "overhead_p99_ratio": round(row["overhead_p99_ms"] / base["overhead_p99_ms"], 3),
                "p99_ratio": round(row["p99_ms"] / base["p99_ms"], 3),
                "overhead_p99_ms": [base["overhead_p99_ms"], row["overhead_p99_ms"]],
                "median_round_p99_ratio": round(med([o["p99_ms"] / b["p99_ms"] for b, o in pairs]), 3),
                "median_round_overhead_p99_ratio": round(med([o["overhead_p99_ms"] / b["overhead_p99_ms"]
                                                              for b, o in pairs]), 3),
                "tree_cpu_ratio": round(med([o["tree_cpu_ms_per_request"] for _, o in pairs])
                                        / med([b["tree_cpu_ms_per_request"] for b, _ in pairs]), 3),
                "tree_cpu_ms_per_request": [med([b["tree_cpu_ms_per_request"] for b, _ in pairs]),
                                            med([o["tree_cpu_ms_per_request"] for _, o in pairs])]}
    shadow = {v: {**rep["shadow"], "requests_seen": rep["requests"],
                  "estimate": rep["estimate"]} for v, rep in reports.items()}
    doc = {"runs": runs, "ratios": ratios, "shadow": shadow,
           "conditions": {"cpu_cores": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                          "repeats": args.repeats, "wall_s": round(time.perf_counter() - t_start, 1),
                          "note": "2 cores shared with other jobs; load generator, 3 gateways and 4 upstreams on "
                                  "the same cores"}}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(ratios, indent=1))
    print(f"wrote {args.output} ({doc['conditions']['wall_s']} s)")


if __name__ == "__main__":
    main()
