"""Live label-free monitoring through the gateway, on the MMLU-Pro pack's recorded answers (issue 24.5), loopback only.

    python benchmarks/live_monitoring.py --output benchmarks/results/live_monitoring.json

The product's router (``truth_cluster``, TF-IDF, no labels: ``benchmarks/monitor_recorded.py``'s
:func:`train_router`) is trained on the pack's train split without one subject (``--hold-out``, default law),
saved with its coverage and registered in a temporary MLflow store; each pool model is a recorded upstream on
loopback (``tests/rgd/serving/fake_upstream.py`` with an answers file: it answers each question with that
model's recorded letter, "no answer" where the pack has none); ``rgd serve`` runs in a subprocess
(``benchmarks/gateway_load.py``'s :func:`gateway_for`) with monitoring on. A user message is the question and its
options ("A. ..." lines, from which the monitor reads the number of options). Phases of traffic, top-1, 8
concurrent requests:

- ``in_distribution``: test questions of the subjects the router was trained on;
- ``new_subject``: every question of the held-out subject;
- ``degraded``: in-distribution test questions, with the routed model's upstream silently answering with the
  pool's weakest model's recorded letters (``answers_file`` swapped through its control endpoint; its name and
  address unchanged).

Passes, each on a fresh gateway (a fresh monitor): ``a_then_b`` and ``a_then_c`` (in distribution, then the new
subject or the degraded upstream: the drift tests against an in-distribution reference, at the product's drift
defaults; every ``--poll`` requests the estimate is refreshed, ``/v1/rgd/monitor?refresh=true``, and the alarms
read; the degraded phase stops 500 requests after its first alarm), ``a_then_c_recent40`` (the same with the drift
test's ``recent_requests`` 40 instead of 200), ``a_then_a_recent40`` (with 40, more in-distribution traffic and no
change: its false alarms), then ``b_alone`` and ``c_alone`` (a monitor that reads only that
phase: its estimate is the phase's own), and ``defaults`` (the in-distribution phase at the product's monitoring defaults: share 0.02, 5 shadowed a second):
the shadow calls' share of upstream calls as shipped. The other passes raise the share (``--share``) and lift the
rate and concurrency bounds, and set ``cooldown_s`` to 1 s (an alarm may fire again after another phase);
``retrain_command`` appends a line to a marker file (retraining triggered: the marker's lines; a new version's
promotion is not measured). Per phase: the true top-1 of the routed choice (the letter the user got against the
pack's key: reporting only, never sent to the gateway) next to the monitor's estimate, the out-of-distribution
share, the requests (and shadowed requests) until each alarm, and the shadow calls' share of upstream calls; and,
computed here on every question of the phase (:func:`offline_estimates`), the monitor's estimate refitted as the
gateway does and with training's voter parameters (the shadows' held fixed, the routed model's re-estimated: not yet
wired into the gateway). The
targets (issue 24): estimate within 3 points of the true top-1 in each phase; the degraded upstream detected
within 2,000 requests at the default share (here: shadowed requests until the alarm / 0.02); shadow share <= 5%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from gateway_load import HEADERS, gateway_for  # noqa: E402
from monitor_recorded import DATA, obs_k2, train_router  # noqa: E402

from tests.rgd.serving.fake_upstream import UpstreamProcess, recorded_key  # noqa: E402
from tests.rgd.serving.gateway_process import chat_body, move_alias, register  # noqa: E402

REPLY = re.compile(r"^(?P<model>\S+) (?:thinks\. The answer is \((?P<letter>[A-Z])\)\.|has no answer\.)$")
BENCH_MONITORING = {"max_per_s": 100_000.0, "max_concurrency": 64}


def user_message(question) -> str:
    """What a user sends: the question, then its options as "A. ..." lines."""
    from rgd.data.schema import LETTERS

    return question.text.strip() + "\n" + "\n".join(f"{x}. {o}" for x, o in zip(LETTERS, question.options))


def write_answers(directory: Path, table, questions) -> dict[str, Path]:
    """Per pool model, its answers file: each question's user message (its key) -> the recorded letter or null."""
    from rgd.data.schema import LETTERS

    directory.mkdir(parents=True, exist_ok=True)
    cols = table.positions([q.id for q in questions])
    keys = [recorded_key(user_message(q)) for q in questions]
    out = {}
    for m, model in enumerate(table.models):
        letters = [LETTERS[c] if c >= 0 else None for c in table.choices[m, cols].tolist()]
        out[model] = directory / f"{m:02d}.json"
        out[model].write_text(json.dumps(dict(zip(keys, letters))))
    return out


def offline_estimates(trained, table, questions, keys, replace: tuple[int, int] | None = None) -> dict:
    """The monitor's estimate computed here, not through the gateway, on every question of a phase as a shadowed
    request (the router's ranking of its user message, the recorded answers of the first 3 models): refitted, as
    the gateway does, and with training's voter parameters (:func:`rgd.serving.monitor.training_voters`: the
    shadows' held fixed, the routed model's re-estimated; not yet wired into the gateway); ``replace``: (routed model, weak model), the routed model's answers the weak
    one's. Beside them the true top-1 on the same questions (reporting only)."""
    from rgd.data.schema import LETTERS
    from rgd.routers.skill_clusters import skill_clusters
    from rgd.serving.monitor import estimate, training_voters

    x = trained.embedder.embed([user_message(q) for q in questions])
    order, clusters = trained.router.rank(x), skill_clusters(trained.router, x)
    cols = table.positions([q.id for q in questions])
    choices = table.choices[:, cols].astype(np.int64)
    if replace is not None:
        choices[replace[0]] = choices[replace[1]]
    q_all = np.arange(len(questions))
    obs = obs_k2(order, clusters, choices, table.n_options[cols].astype(np.int64), q_all)
    right = choices[order[:, 0], q_all] == np.array([LETTERS.index(keys[q.id]) for q in questions])
    refit = estimate(obs, len(table.models), 30)
    fixed = estimate(obs, len(table.models), 30, voters=training_voters(trained.router))
    return {"questions": len(questions), "true_top1": round(float(right.mean()), 4),
            "refit": round(refit.overall.estimated_accuracy, 4),
            "fixed": round(fixed.overall.estimated_accuracy, 4), "fixed_estimator": fixed.estimator,
            "majority_agreement": round(refit.overall.majority_agreement, 4)}


def monitor(url: str, refresh: bool) -> dict:
    req = urllib.request.Request(f"{url}/v1/rgd/monitor?refresh={str(refresh).lower()}", headers=HEADERS)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


async def _send_all(url: str, bodies: list[bytes], concurrency: int, rate: float | None = None) -> list[str | None]:
    """Each request's reply text (None for a failed request), ``concurrency`` at a time; ``rate``: at most that many
    requests a second (the i-th sent no earlier than i / rate seconds after the first)."""
    import aiohttp

    out: list[str | None] = [None] * len(bodies)
    todo = iter(range(len(bodies)))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def worker():
            for i in todo:
                if rate is not None and (wait := t0 + i / rate - loop.time()) > 0:
                    await asyncio.sleep(wait)
                async with session.post(f"{url}/v1/chat/completions", data=bodies[i], headers=HEADERS) as r:
                    if r.status == 200:
                        out[i] = (await r.json())["choices"][0]["message"]["content"]
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def settled(url: str, timeout_s: float = 10.0) -> dict:
    """The monitor's report once no shadow call is in flight (the last batch's shadows answered)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rep = monitor(url, refresh=False)
        if rep["shadow"]["in_flight"] == 0 or time.monotonic() > deadline:
            return rep
        time.sleep(0.05)


def run_phase(gw, name: str, questions, keys: dict[str, str], poll: int, concurrency: int,
              stop_after_alarm: int | None = None, rate: float | None = None, refresh: bool = True,
              until_shadowed: int | None = None) -> dict:
    """Send the phase's questions through the gateway in batches of ``poll``, the estimate refreshed (unless not
    ``refresh``: then only as the gateway's ``refresh_s`` does) and the alarms read after each; the phase's figures
    (the estimate and shares as the monitor reports them at its end, and by difference with its start where the
    monitor's counts are cumulative). ``stop_after_alarm``: stop that many requests after the first alarm;
    ``rate``: requests a second at most; ``until_shadowed``: stop once that many requests of the phase were
    shadowed."""
    start = settled(gw.url)
    t0 = time.time()
    first: dict[str, dict] = {}
    sent, right, answered, routed = 0, 0, 0, {}
    rep = start
    for lo in range(0, len(questions), poll):
        batch = questions[lo: lo + poll]
        replies = asyncio.run(_send_all(gw.url, [chat_body(user_message(q)) for q in batch], concurrency, rate))
        for q, text in zip(batch, replies):
            m = REPLY.match(text or "")
            if m is None:
                raise RuntimeError(f"{name}: an unexpected reply {text!r}")
            routed[m["model"]] = routed.get(m["model"], 0) + 1
            answered += m["letter"] is not None
            right += m["letter"] == keys[q.id]  # the pack's key: reporting only
        sent += len(batch)
        settled(gw.url)
        rep = monitor(gw.url, refresh=refresh)
        for alarm in rep["alarms"]:
            if alarm["at"] >= t0 and alarm["kind"] not in first:
                first[alarm["kind"]] = {"requests": sent, "shadowed": rep["shadow"]["requests"] - start["shadow"]["requests"],
                                        "z": alarm["z"], "reference": alarm["reference"], "recent": alarm["recent"],
                                        "evidence": alarm.get("evidence")}
        if stop_after_alarm is not None and first and sent >= min(f["requests"] for f in first.values()) + stop_after_alarm:
            break
        if until_shadowed is not None and rep["shadow"]["requests"] - start["shadow"]["requests"] >= until_shadowed:
            break
    calls = rep["shadow"]["calls"] - start["shadow"]["calls"]
    n_before, n_after = start["requests"], rep["requests"]
    ood_before = (start["out_of_distribution_share"] or 0.0) * n_before
    est = rep["estimate"] or {}
    return {"phase": name, "requests": sent, "seconds": round(time.time() - t0, 1),
            "true_top1": round(right / sent, 4), "answered": round(answered / sent, 4), "routed_to": routed,
            "estimate_end": est.get("estimated_accuracy"), "estimator": est.get("estimator"),
            "estimate_reads_shadowed": est.get("shadowed_requests"),
            "majority_agreement_end": est.get("majority_agreement"),
            "shadowed": rep["shadow"]["requests"] - start["shadow"]["requests"],
            "out_of_distribution_share": round(((rep["out_of_distribution_share"] or 0.0) * n_after - ood_before)
                                               / max(1, n_after - n_before), 4),
            "shadow_share_of_upstream_calls": round(calls / (calls + sent), 4),
            "shadow_share_of_upstream_calls_since_start": round(rep["shadow"]["share_of_upstream_calls"], 4),
            "boosted": rep["shadow"].get("boosted", 0) - start["shadow"].get("boosted", 0),
            "skipped": {k: v - start["shadow"]["skipped"].get(k, 0) for k, v in rep["shadow"]["skipped"].items()},
            "alarms_first": first}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--hold-out", default="law", help="the subject left out of training (the new subject)")
    ap.add_argument("--share", type=float, default=0.1, help="the share of requests shadowed (the default is 0.02)")
    ap.add_argument("--requests", type=int, default=3000, help="requests of each in-distribution phase")
    ap.add_argument("--degraded-max", type=int, default=3000, help="most requests of the degraded phase")
    ap.add_argument("--poll", type=int, default=100, help="requests between two refreshes of the estimate")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--defaults-only", action="store_true",
                    help="only the passes at the product's monitoring defaults (defaults_pass: reference, more in "
                    "distribution, degraded), paced, --repeats times")
    ap.add_argument("--repeats", type=int, default=3, help="with --defaults-only: repetitions (monitoring seed 0, 1, ...)")
    ap.add_argument("--rate", type=float, default=100.0,
                    help="with --defaults-only: requests a second after the reference (the default rate bound, 5 "
                    "shadowed a second, then leaves room for the boost)")
    ap.add_argument("--reference-rate", type=float, default=200.0,
                    help="with --defaults-only: requests a second until the reference is complete (below 250, where "
                    "2%% of the requests is the default rate bound)")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the shared MMLU-Pro pack")
    from rgd.data.recorded import load_recorded
    from rgd.routers.bundle import RouterBundle
    from rgd.routers.coverage import Coverage
    from rgd.tracking.config import configure_mlflow

    t_start = time.perf_counter()
    data = load_recorded(args.data)
    trained = train_router(data, without_subject=args.hold_out)
    t_train = time.perf_counter() - t_start
    keys = {q.id: q.answer for q in data.questions}  # reporting only
    rng = np.random.default_rng(0)
    in_dist = [q for q in trained.test_q if q.subject != args.hold_out]
    in_dist = [in_dist[i] for i in rng.permutation(len(in_dist))]
    new_subject = [q for q in data.questions if q.subject == args.hold_out]
    new_subject = [new_subject[i] for i in rng.permutation(len(new_subject))]
    phase_a, phase_c = in_dist[: args.requests], in_dist[args.requests:] + in_dist[: args.requests]
    phase_c = phase_c[: args.degraded_max]
    table = data.table
    true_acc = (table.choices == table.answers[None, :]).mean(axis=1)  # reporting: which model is the weakest
    weak = table.models[int(np.argmin(true_acc))]

    routed_index = int(np.bincount(trained.router.rank(trained.embedder.embed(
        [user_message(q) for q in phase_a]))[:, 0]).argmax())
    offline = {"in_distribution": offline_estimates(trained, table, phase_a, keys),
               "new_subject": offline_estimates(trained, table, new_subject, keys),
               "degraded": offline_estimates(trained, table, phase_c[: args.requests], keys,
                                             (routed_index, table.models.index(weak)))}
    print("offline:", json.dumps(offline), flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="rgd-live-monitoring-"))
    home = tmp / "home"
    os.environ["RGD_HOME"] = str(home)
    uri = f"sqlite:///{home}/mlflow/mlflow.db"
    configure_mlflow(uri)
    bundle = RouterBundle(trained.router, trained.embedder, {"router": "truth_cluster", "held_out": args.hold_out},
                          coverage=Coverage.fit(trained.train_x))
    name = "bench-live-monitoring"
    move_alias(name, register(bundle.save(tmp / "bundle"), name, uri))
    files = write_answers(tmp / "answers", table, in_dist + new_subject)
    upstreams = {m: UpstreamProcess(m, answers=files[m]) for m in table.models}
    pool = [{"name": m, "base_url": u.base_url, "timeout_s": 10} for m, u in upstreams.items()]
    print(f"setup: {time.perf_counter() - t_start:.0f} s (training {t_train:.0f} s)", flush=True)

    def gateway(tag: str, defaults: bool = False, seed: int = 0, **drift_overrides):
        marker = tmp / f"retrain-{tag}.txt"
        drift = {"cooldown_s": 1.0, "retrain_command": ["/bin/sh", "-c", f"date +%s.%N >> {marker}"],
                 **drift_overrides}
        monitoring = ({"seed": seed, "drift": drift} if defaults
                      else {"share": args.share, **BENCH_MONITORING, "drift": drift})
        return gateway_for(tmp, home, name, pool, tag, monitoring=monitoring), marker

    def retrains(marker: Path) -> list[float]:
        return [float(x) for x in marker.read_text().split()] if marker.exists() else []

    if args.defaults_only:
        routed_model = table.models[routed_index]
        try:
            doc = defaults_passes(args, gateway, retrains, upstreams, files, routed_model, weak, phase_a, phase_c,
                                  keys)
        finally:
            for u in upstreams.values():
                u.kill()
        doc |= {"held_out_subject": args.hold_out, "routed_model": routed_model, "weak_model": weak,
                "train_s": round(t_train, 1),
                "conditions": {"cpu_cores": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                               "wall_s": round(time.perf_counter() - t_start, 1), "concurrency": args.concurrency,
                               "poll_requests": args.poll, "rate": args.rate, "reference_rate": args.reference_rate}}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=1) + "\n")
        print(json.dumps(doc["summary"], indent=1))
        print(f"wrote {args.output} ({doc['conditions']['wall_s']} s)")
        return

    passes: dict[str, dict] = {}
    routed_model = None
    try:
        for tag, phases, drift in (("a_then_b", ("in_distribution", "new_subject"), {}),
                                   ("a_then_c", ("in_distribution", "degraded"), {}),
                                   ("a_then_c_recent40", ("in_distribution", "degraded"), {"recent_requests": 40}),
                                   ("a_then_a_recent40", ("in_distribution", "in_distribution_again"),
                                    {"recent_requests": 40}),
                                   ("b_alone", ("new_subject",), {}), ("c_alone", ("degraded",), {}),
                                   ("defaults", ("in_distribution",), {})):
            gw, marker = gateway(tag, tag == "defaults", **drift)
            rows = []
            try:
                for phase in phases:
                    t_phase = time.time()
                    if phase == "degraded":  # the routed model's upstream answers with the weakest model's letters
                        upstreams[routed_model].control(answers_file=str(files[weak]))
                    qs = {"in_distribution": phase_a, "new_subject": new_subject,
                          "in_distribution_again": phase_c[: args.requests],
                          "degraded": phase_c[: args.requests] if tag == "c_alone" else phase_c}[phase]
                    row = run_phase(gw, phase, qs, keys, args.poll, args.concurrency,
                                    stop_after_alarm=500 if phase == "degraded" else None)
                    row["retrain_triggered"] = sum(t >= t_phase for t in retrains(marker))
                    rows.append(row)
                    print(tag, json.dumps(row), flush=True)
                    if phase == "in_distribution" and routed_model is None:
                        routed_model = max(row["routed_to"], key=row["routed_to"].get)
            finally:
                gw.stop()
                if routed_model is not None:
                    upstreams[routed_model].control(answers_file=str(files[routed_model]))
            passes[tag] = {"phases": rows, "retrain_runs": len(retrains(marker)), "drift": drift}
    finally:
        for u in upstreams.values():
            u.kill()
    summary = summarise(passes, args.share)
    for phase, row in offline.items():
        summary[phase]["offline_same_questions"] = row
    doc = {"held_out_subject": args.hold_out, "share": args.share, "k": 2, "routed_model": routed_model,
           "weak_model": weak, "weak_true_accuracy_all": round(float(true_acc[table.models.index(weak)]), 4),
           "passes": passes, "summary": summary, "train_s": round(t_train, 1),
           "conditions": {"cpu_cores": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                          "wall_s": round(time.perf_counter() - t_start, 1), "concurrency": args.concurrency,
                          "poll_requests": args.poll, "bench_monitoring": BENCH_MONITORING, "cooldown_s": 1.0}}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.output} ({doc['conditions']['wall_s']} s)")


DETECTING = ("agreement_cusum", "accuracy_drop", "agreement_drop")  # the alarms a degraded upstream should raise


def defaults_passes(args, gateway, retrains, upstreams, files, routed_model, weak, phase_a, phase_c, keys) -> dict:
    """``--defaults-only``: per repetition, one gateway at the product's monitoring defaults (its sampling seed the
    repetition's number; ``cooldown_s`` 1 s and the marker's ``retrain_command`` as in every pass), its estimate
    refreshed only by itself (``refresh_s``), the alarms read every ``--poll`` requests: in-distribution requests at
    ``--reference-rate`` until the drift reference (``reference_requests`` shadowed) is complete, then 3,000 more
    (``--requests``, at ``--rate``: false alarms), then the degraded upstream at ``--rate`` until 300 requests
    after the first alarm. The requests until the alarm are counted, not derived from a share."""
    from rgd.serving.config import DriftSpec

    reference = DriftSpec().reference_requests
    cycled = phase_a * (1 + 60 * reference // max(1, len(phase_a)))  # enough for the reference at 2%
    rows = []
    for rep_i in range(args.repeats):
        gw, marker = gateway(f"defaults_{rep_i}", True, seed=rep_i)
        phases = []
        try:
            for name, qs, kw in (("reference", cycled, {"rate": args.reference_rate, "until_shadowed": reference}),
                                 ("in_distribution_again", phase_c[: args.requests], {"rate": args.rate}),
                                 ("degraded", phase_c[: args.degraded_max], {"rate": args.rate,
                                                                            "stop_after_alarm": 300})):
                t_phase = time.time()
                if name == "degraded":
                    upstreams[routed_model].control(answers_file=str(files[weak]))
                row = run_phase(gw, name, qs, keys, args.poll, args.concurrency, refresh=False, **kw)
                row["retrain_triggered"] = sum(t >= t_phase for t in retrains(marker))
                phases.append(row)
                print(f"defaults_{rep_i}", json.dumps(row), flush=True)
        finally:
            gw.stop()
            upstreams[routed_model].control(answers_file=str(files[routed_model]))
        rows.append({"seed": rep_i, "phases": phases})
    summary = []
    for r in rows:
        ref, again, bad = r["phases"]
        hits = {k: v for k, v in bad["alarms_first"].items() if k in DETECTING}
        first = min(hits.items(), key=lambda kv: kv[1]["requests"]) if hits else None
        summary.append({
            "seed": r["seed"], "reference_requests_sent": ref["requests"],
            "false_alarms_in_distribution": sorted(again["alarms_first"]),
            "again_requests": again["requests"], "again_shadowed": again["shadowed"], "again_boosted": again["boosted"],
            "degraded_first_alarm": None if first is None else {"kind": first[0], **first[1]},
            "degraded_alarms": {k: v["requests"] for k, v in hits.items()},
            "requests_until_alarm": None if first is None else first[1]["requests"],
            "within_2000_requests": first is not None and first[1]["requests"] <= 2000,
            "degraded_boosted": bad["boosted"], "degraded_skipped": bad["skipped"],
            "shadow_share": {p["phase"]: p["shadow_share_of_upstream_calls"] for p in r["phases"]},
            "shadow_share_whole_pass": bad["shadow_share_of_upstream_calls_since_start"],
            "true_top1": {p["phase"]: p["true_top1"] for p in r["phases"]}})
    return {"defaults_passes": rows, "summary": summary}


def summarise(passes: dict[str, dict], share: float) -> dict:
    """Per phase: the true top-1 beside the estimate of a monitor that read only that phase (in distribution: the
    first pass's, at its end), the alarms of the passes from an in-distribution reference, the shadow shares; and
    the issue's targets, met or missed."""
    own = {"in_distribution": passes["a_then_b"]["phases"][0], "new_subject": passes["b_alone"]["phases"][0],
           "degraded": passes["c_alone"]["phases"][0]}
    after = {"new_subject": passes["a_then_b"]["phases"][1], "degraded": passes["a_then_c"]["phases"][1],
             "degraded_recent40": passes["a_then_c_recent40"]["phases"][1]}
    out: dict = {}
    for phase, row in [*own.items(), ("degraded_recent40", own["degraded"])]:
        entry = {"true_top1": row["true_top1"], "estimate": row["estimate_end"], "estimator": row["estimator"],
                 "estimate_minus_true": None if row["estimate_end"] is None else round(row["estimate_end"] - row["true_top1"], 4),
                 "shadowed": row["shadowed"], "out_of_distribution_share": row["out_of_distribution_share"],
                 "shadow_share": row["shadow_share_of_upstream_calls"]}
        if phase in after:
            a = after[phase]
            entry |= {"after_reference": {k: a[k] for k in ("requests", "true_top1", "estimate_end",
                                                            "out_of_distribution_share", "alarms_first",
                                                            "retrain_triggered")}}
        out[phase] = entry
    defaults = passes["defaults"]["phases"][0]
    out["targets"] = {
        "estimate_within_3_points": {p: out[p]["estimate_minus_true"] is not None and abs(out[p]["estimate_minus_true"]) <= 0.03
                                     for p in own}}
    for key in ("degraded", "degraded_recent40"):
        alarms = {k: v for k, v in after[key]["alarms_first"].items() if k in ("accuracy_drop", "agreement_drop")}
        shadowed = min((v["shadowed"] for v in alarms.values()), default=None)
        out["targets"][key] = {
            "detected": shadowed is not None, "shadowed_until_alarm": shadowed,
            "requests_until_alarm_at_bench_share": min((v["requests"] for v in alarms.values()), default=None),
            "requests_until_alarm_at_default_share": None if shadowed is None else round(shadowed / 0.02),
            "within_2000_requests_at_default_share": shadowed is not None and shadowed / 0.02 <= 2000}
    again = passes["a_then_a_recent40"]["phases"][1]
    out["targets"]["false_alarms_recent40_in_distribution"] = {"requests": again["requests"],
                                                               "alarms_first": again["alarms_first"]}
    out["targets"] |= {
        "shadow_share_defaults": defaults["shadow_share_of_upstream_calls"],
        "shadow_share_bench": out["in_distribution"]["shadow_share"],
        "shadow_share_at_most_5_percent_defaults": defaults["shadow_share_of_upstream_calls"] <= 0.05,
        "bench_share": share,
    }
    return out


if __name__ == "__main__":
    main()
