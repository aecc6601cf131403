"""The drift test's window and z chosen by false alarms and detection delay, offline (issue 24.5's tenth session).

    python benchmarks/drift_defaults.py --output benchmarks/results/drift_defaults.json
    python benchmarks/drift_defaults.py --output benchmarks/results/drift_defaults_simulated.json --world simulated

What the gateway's drift tests (:func:`rgd.serving.drift.accuracy_drop` on the estimate's per-request accuracy and
on the per-request plurality flag, thresholds 5 and 10 points) would do on streams of shadowed requests, each
window size ``recent`` and ``z`` in turn, checked after **every** shadowed request (the worst case of the
gateway's refresh: it re-reads the alarms after each estimate, at most one per new shadowed request):

- no drift: a reference of 200 shadowed in-distribution requests, then ``--null-length`` more (1,000: 50,000 user
  requests at the default 2% share); the share of seeded streams with any alarm within the first 200 after the
  reference (10,000 user requests at 2%) and within all of them;
- drift: the reference, 200 more in-distribution, then 200 after the routed model is silently degraded: on a
  share ``f`` of the requests after the change its answer becomes the pool's weakest model's (the replacement of
  ``monitor_recorded.py``, f 1: the whole model replaced); the shadowed requests after the change until the
  first alarm.

Each stream is one estimate (:func:`rgd.serving.monitor.estimate`, refitted, as the gateway does) over all of it,
its per-request values then tested on every prefix (the gateway refits at each refresh; one fit per stream is
the approximation here). The drops' true sizes come from the keys, for reporting only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from monitor_recorded import DATA, obs_k2, train_router  # noqa: E402

REFERENCE = 200


def first_alarms(values: np.ndarray, start: int, recent: int, threshold: float, z: float) -> np.ndarray:
    """For each check position p (after p values, p >= start, p >= REFERENCE + recent), whether the drift test
    (the last ``recent`` values against the first REFERENCE) alarms: the same rule as
    :func:`rgd.serving.drift.accuracy_drop`, vectorised over the positions. Returns the alarming positions."""
    v = np.asarray(values, dtype=np.float64)
    ref = v[:REFERENCE]
    m_ref, var_ref = ref.mean(), ref.var(ddof=1)
    c1, c2 = np.r_[0.0, np.cumsum(v)], np.r_[0.0, np.cumsum(v * v)]
    ends = np.arange(max(start, REFERENCE + recent), len(v) + 1)
    s1, s2 = c1[ends] - c1[ends - recent], c2[ends] - c2[ends - recent]
    m = s1 / recent
    var = np.maximum((s2 - recent * m * m) / (recent - 1), 0.0)
    se = np.sqrt(var_ref / REFERENCE + var / recent)
    change = m - m_ref
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(se > 0, -change / se, np.where(change < 0, np.inf, 0.0))
    return ends[(-change > threshold) & (score >= z)]


def world(name: str, data: Path):
    """(observations of every test question, choices, answers, routed, n_models) for the world."""
    from rgd.routers.skill_clusters import skill_clusters

    if name == "mmlu_pro":
        from rgd.data.recorded import load_recorded

        trained = train_router(load_recorded(data))
        router, x, table = trained.router, trained.test_x, trained.test_table
        answers = table.answers.astype(np.int64)
    else:
        from monitor_simulated import default_test_answers

        sim, bundle, test, table, x = default_test_answers()
        router = bundle.router
        answers = np.asarray(sim.true_keys(test), dtype=np.int64)
    order = router.rank(x)
    clusters = skill_clusters(router, x)
    choices = table.choices.astype(np.int64)
    q_all = np.arange(len(answers))
    obs = obs_k2(order, clusters, choices, table.n_options.astype(np.int64), q_all)
    return obs, choices, answers, order[:, 0], len(table.models), table.models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--world", choices=("mmlu_pro", "simulated"), default="mmlu_pro")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--draws", type=int, default=40, help="seeded streams per degraded share")
    ap.add_argument("--null-draws", type=int, default=200, help="seeded streams without drift")
    ap.add_argument("--null-length", type=int, default=1000, help="shadowed requests after the reference")
    ap.add_argument("--recent", default="20,30,40,60,100,200")
    ap.add_argument("--z", default="3,3.5,4")
    ap.add_argument("--fractions", default="0.35,0.7,1.0", help="shares of the requests after the change degraded")
    args = ap.parse_args()
    if args.world == "mmlu_pro" and not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the shared MMLU-Pro pack")
    from rgd.serving.monitor import estimate

    t0 = time.perf_counter()
    obs, choices, answers, routed, n_models, models = world(args.world, args.data)
    t_train = time.perf_counter() - t0
    recents = [int(r) for r in args.recent.split(",")]
    zs = [float(z) for z in args.z.split(",")]
    true_acc = (choices == answers[None, :]).mean(axis=1)
    weak = int(np.argmin(true_acc))
    clean = np.array([q for q, o in enumerate(obs) if weak not in [m for m, _ in o.choices]])
    right = choices[routed, np.arange(len(answers))] == answers
    rng = np.random.default_rng(0)

    def tests(found, start):  # (recent, z) -> first alarming position or None, either test
        out = {}
        for r in recents:
            for z in zs:
                hits = np.r_[first_alarms(found.per_request, start, r, 0.05, z),
                             first_alarms(found.per_request_majority, start, r, 0.10, z)]
                out[(r, z)] = int(hits.min()) if len(hits) else None
        return out

    null_rows = []
    for draw in range(args.null_draws):
        pick = rng.choice(len(obs), REFERENCE + args.null_length, replace=len(obs) < REFERENCE + args.null_length)
        found = estimate([obs[i] for i in pick], n_models, min_requests=30)
        first = tests(found, REFERENCE)
        null_rows.append({"draw": draw, "first_alarm": {f"{r}_{z}": (None if p is None else p - REFERENCE)
                                                        for (r, z), p in first.items()}})
    drift_rows = []
    for f in [float(v) for v in args.fractions.split(",")]:
        for draw in range(args.draws):
            after = rng.choice(clean, 200, replace=len(clean) < 200)
            before = rng.choice(np.setdiff1d(np.arange(len(obs)), after), REFERENCE + 200,
                                replace=len(obs) - 200 < REFERENCE + 200)
            hit = rng.random(200) < f
            swapped = [replace(obs[q], choices=tuple((m, int(choices[weak, q]) if m == obs[q].routed else c)
                                                     for m, c in obs[q].choices)) if h else obs[q]
                       for q, h in zip(after, hit)]
            found = estimate([obs[q] for q in before] + swapped, n_models, min_requests=30)
            first = tests(found, REFERENCE + 200 + 1)
            true_after = np.where(hit, choices[weak, after] == answers[after], right[after])
            drift_rows.append({"fraction": f, "draw": draw,
                               "true_before": round(float(right[before].mean()), 4),
                               "true_after": round(float(true_after.mean()), 4),
                               "delay": {f"{r}_{z}": (None if p is None else p - REFERENCE - 200)
                                         for (r, z), p in first.items()}})
        print(f"fraction {f} done", flush=True)
    summary = {}
    for r in recents:
        for z in zs:
            key = f"{r}_{z}"
            fa = [row["first_alarm"][key] for row in null_rows]
            s = {"false_alarm_share_200": round(float(np.mean([a is not None and a <= 200 for a in fa])), 3),
                 f"false_alarm_share_{args.null_length}": round(float(np.mean([a is not None for a in fa])), 3)}
            for f in sorted({row["fraction"] for row in drift_rows}):
                d = [row["delay"][key] for row in drift_rows if row["fraction"] == f]
                found_d = [x for x in d if x is not None]
                s[f"f{f}_detected"] = len(found_d)
                s[f"f{f}_delay_median"] = None if not found_d else float(np.median(found_d))
                s[f"f{f}_delay_max"] = None if len(found_d) < len(d) else int(max(found_d))
                s[f"f{f}_within_40"] = sum(x <= 40 for x in found_d)
            summary[key] = s
    drops = {str(f): round(float(np.mean([row["true_before"] - row["true_after"] for row in drift_rows
                                          if row["fraction"] == f])), 4) for f in sorted({r["fraction"] for r in drift_rows})}
    doc = {"world": args.world, "weak_model": models[weak], "draws": args.draws, "null_draws": args.null_draws, "reference": REFERENCE,
           "null_length": args.null_length, "true_drop_mean": drops, "train_s": round(t_train, 1),
           "wall_s": round(time.perf_counter() - t0, 1), "summary": summary}  # the per-stream rows are not kept
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"true_drop_mean": drops, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
