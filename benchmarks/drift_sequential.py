"""The sequential drift test (agreement_cusum) and the adaptive share chosen offline (issue 24.5, eleventh session).

    python benchmarks/drift_sequential.py --output benchmarks/results/drift_sequential.json
    python benchmarks/drift_sequential.py --output benchmarks/results/drift_sequential_simulated.json --world simulated

The streams of ``benchmarks/drift_defaults.py`` (its :func:`world`: every test question as a shadowed request with
2 shadows; the routed model's answer replaced by the pool's weakest model's on a share ``f`` of the requests after
the change), fed to the product's :class:`rgd.serving.drift.PluralityCusum` one plurality flag at a time, as the
gateway feeds it:

- per (``sequential_drop``, ``sequential_threshold``): false alarms over 200 and 1,000 shadowed in-distribution
  requests after a reference of 200, and the shadowed requests until the alarm after the change (f 1.0, 0.7,
  0.35; the change after 200 more in-distribution ones);
- in requests, the sampling simulated as :class:`rgd.serving.shadow.Shadow` does it (share 0.02; while the
  evidence is at least ``boost_evidence``, ``boost_share`` within the credit of ``max_shadow_share`` (5%) of the
  upstream calls; the rate bound as a largest share, ``--max-share``: 5 a second at 100 requests a second is
  0.05): the requests until the alarm after a reference and 3,000 more in-distribution requests, false alarms over
  ``--null-requests`` requests after the reference, and the shadow calls' share of all upstream calls.

No estimate: the test reads only whether each routed answer was the plurality. The keys say which model is the
weakest and how far the routed choice's accuracy fell (reporting only).
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

from drift_defaults import world  # noqa: E402
from monitor_recorded import DATA  # noqa: E402

REFERENCE = 200
SHARE = 0.02  # the product's default share (rgd.serving.config.MonitoringSpec), the base of the simulation


def flags(name: str, data: Path):
    """Per test question: its plurality flag as served, and with the routed answer the weakest model's; the
    questions whose shadows do not include the weakest model (the replacement comes from outside the pool)."""
    from rgd.serving.monitor import plurality

    obs, choices, answers, _, _, models = world(name, data)
    weak = int(np.argmin((choices == answers[None, :]).mean(axis=1)))
    clean = np.array([q for q, o in enumerate(obs) if weak not in [m for m, _ in o.choices]])
    base = np.array([plurality(o) for o in obs])
    swapped = np.array([plurality(replace(o, choices=tuple((m, int(choices[weak, q]) if m == o.routed else c)
                                                           for m, c in o.choices))) for q, o in enumerate(obs)])
    return base, swapped, clean, models[weak]


def first_alarm(stream, drop: float, h: float) -> int | None:
    from rgd.serving.drift import PluralityCusum

    test = PluralityCusum(REFERENCE, drop, h)
    for i, x in enumerate(stream):
        if test.add(bool(x)) is not None:
            return i + 1 - REFERENCE
    return None


def in_shadowed(base, swapped, clean, rng, drop, h, null_draws, draws) -> dict:
    null = [first_alarm(base[rng.integers(0, len(base), REFERENCE + 1000)], drop, h) for _ in range(null_draws)]
    out = {"false_alarm_share_200": round(float(np.mean([a is not None and a <= 200 for a in null])), 3),
           "false_alarm_share_1000": round(float(np.mean([a is not None for a in null])), 3)}
    for f in (1.0, 0.7, 0.35):
        delays = []
        for _ in range(draws):
            after = clean[rng.integers(0, len(clean), 200)]
            hit = rng.random(200) < f
            stream = np.r_[base[rng.integers(0, len(base), REFERENCE + 200)], np.where(hit, swapped[after], base[after])]
            a = first_alarm(stream, drop, h)
            delays.append(None if a is None or a <= 200 else a - 200)
        found = [d for d in delays if d is not None]
        out[f"f{f}"] = {"median": None if not found else float(np.median(found)),
                        "within_40": sum(d <= 40 for d in found), "within_200": len(found), "draws": draws}
    return out


def in_requests(base, swapped, clean, rng, spec, max_share: float, change: bool, null_requests: int) -> dict:
    """One stream, request by request: the reference at the base share, then ``null_requests`` more in
    distribution, then (``change``) the routed model replaced; the requests until the alarm (after the change, or
    a false alarm before it) and the shadow calls' share of all upstream calls."""
    from rgd.serving.drift import PluralityCusum

    d = spec.drift
    test = PluralityCusum(d.reference_requests, d.sequential_drop, d.sequential_threshold)
    earn = spec.max_shadow_share / (1 - spec.max_shadow_share)
    credit, requests, shadow_calls, done_at, changed_at = 0.0, 0, 0, None, None
    k = spec.shadow_models
    while True:
        requests += 1
        credit = min(spec.boost_credit_calls, credit + earn)
        draw = rng.random()
        boosting = test.evidence >= spec.boost_evidence
        sampled = draw < min(max_share, SHARE) or (
            boosting and draw < min(max_share, spec.boost_share) and credit >= k)
        if sampled:
            credit -= k
            shadow_calls += k
            if changed_at is not None:
                q = clean[rng.integers(len(clean))]
                x = swapped[q]
            else:
                x = base[rng.integers(len(base))]
            if test.add(bool(x)) is not None:
                share = shadow_calls / (requests + shadow_calls)
                if changed_at is None:
                    return {"false_alarm_after": requests - done_at, "share": share}
                return {"delay": requests - changed_at, "share": share}
            if done_at is None and test.p0 is not None:
                done_at = requests
        if done_at is not None and changed_at is None and requests - done_at >= null_requests:
            if not change:
                return {"share": shadow_calls / (requests + shadow_calls)}
            changed_at = requests
        if changed_at is not None and requests - changed_at > 10_000:
            return {"delay": None, "share": shadow_calls / (requests + shadow_calls)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--world", choices=("mmlu_pro", "simulated"), default="mmlu_pro")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--drops", default="0.15,0.25,0.35")
    ap.add_argument("--thresholds", default="7,8,9,10")
    ap.add_argument("--null-draws", type=int, default=400)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--request-draws", type=int, default=100, help="simulated streams per sampling variant")
    ap.add_argument("--null-requests", type=int, default=20_000, help="requests after the reference, no change")
    ap.add_argument("--max-share", default="0.05,0.2", help="the largest share the rate bound lets through")
    ap.add_argument("--boost-evidence", default="1.5,2,3")
    ap.add_argument("--boost-shares", default=None, help="boost shares to try (default: the product's)")
    ap.add_argument("--no-grid", action="store_true", help="only the request-space part")
    args = ap.parse_args()
    if args.world == "mmlu_pro" and not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the shared MMLU-Pro pack")
    from rgd.serving.config import MonitoringSpec

    t0 = time.perf_counter()
    base, swapped, clean, weak = flags(args.world, args.data)
    rng = np.random.default_rng(0)
    doc = {"world": args.world, "weak_model": weak, "plurality_share": round(float(base.mean()), 4),
           "plurality_share_replaced": round(float(swapped[clean].mean()), 4), "shadowed": {}, "requests": {}}
    for drop in [] if args.no_grid else [float(x) for x in args.drops.split(",")]:
        for h in [float(x) for x in args.thresholds.split(",")]:
            row = in_shadowed(base, swapped, clean, rng, drop, h, args.null_draws, args.draws)
            doc["shadowed"][f"{drop}_{h}"] = row
            print("shadowed", drop, h, json.dumps(row), flush=True)
    default = MonitoringSpec()
    variants = [("no boost", default.model_copy(update={"boost_share": 0.0}))]
    shares = [default.boost_share] if args.boost_shares is None else [float(x) for x in args.boost_shares.split(",")]
    variants += [(f"boost from {e}" + ("" if args.boost_shares is None else f" to {b}"),
                  default.model_copy(update={"boost_evidence": e, "boost_share": b}))
                 for e in [float(x) for x in args.boost_evidence.split(",")] for b in shares]
    for label, spec in variants:
        for max_share in [float(x) for x in args.max_share.split(",")]:
            if spec.boost_share == 0 and max_share != float(args.max_share.split(",")[0]):
                continue  # without the boost the largest share does not matter above 0.02
            runs = [in_requests(base, swapped, clean, rng, spec, max_share, True, 3000)
                    for _ in range(args.request_draws)]
            nulls = [in_requests(base, swapped, clean, rng, spec, max_share, False, args.null_requests)
                     for _ in range(args.request_draws)]
            delays = np.array([r["delay"] if r.get("delay") is not None else np.inf for r in runs
                               if "false_alarm_after" not in r])
            row = {"boost_evidence": spec.boost_evidence, "boost_share": spec.boost_share, "max_share": max_share,
                   "delay_median": float(np.median(delays)), "delay_p75": float(np.percentile(delays, 75)),
                   "within_2000": round(float(np.mean(delays <= 2000)), 3),
                   "false_alarms_before_change": sum("false_alarm_after" in r for r in runs),
                   f"false_alarm_share_{args.null_requests}": round(float(np.mean(["false_alarm_after" in r
                                                                                 for r in nulls])), 3),
                   "shadow_share_null_mean": round(float(np.mean([r["share"] for r in nulls])), 4),
                   "shadow_share_null_max": round(float(np.max([r["share"] for r in nulls])), 4),
                   "shadow_share_with_change_max": round(float(np.max([r["share"] for r in runs])), 4)}
            doc["requests"][f"{label}, max share {max_share}"] = row
            print("requests", label, json.dumps(row), flush=True)
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.output} ({doc['wall_s']} s)")


if __name__ == "__main__":
    main()
