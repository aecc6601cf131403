"""Live monitoring's estimate on real answers, offline (issue 24.3, towards 24.5): the shared MMLU-Pro pack.

    python benchmarks/monitor_recorded.py --output benchmarks/results/monitor_recorded.json --k 2,4,11 --windows 200,1000,3609 --draws 3

The product's router (``truth_cluster``, TF-IDF, as ``rgd evaluate-recorded`` trains it, no labels) ranks the
test questions; each test question is then what the gateway's monitor would see of a shadowed request: the
routed (first-ranked) model's recorded answer and those of the next ``k`` models, in the router's skill cluster
(:func:`rgd.routers.skill_clusters.skill_clusters`). :func:`rgd.serving.monitor.estimate` on windows of N such
requests (random, seeded, several draws) gives the routed choice's estimated accuracy, set beside its true
accuracy on the same requests (the pack's keys, for reporting only): refitted with the one-coin voter model the
monitor refits with (``onecoin``) and the item-response model training uses (``irt``), and with training's voter
parameters (``fixed``: :func:`rgd.serving.monitor.training_voters`, the shadows' held fixed and the routed model's
re-estimated, what the monitor uses where the bundle keeps them). The issue's target: within 3 points of the true top-1. Then the routed model is silently
replaced by the pool's weakest (``degraded``): does the gateway's drift test (5 points, z 3: the defaults until the
tenth session, kept here so the figures reproduce; the defaults now are in rgd.serving.config.DriftSpec) fire on
20-200 shadowed requests after the change, against 200 before, with the refit and with the fixed parameters?
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = Path("/work/shared/data/mmlu_pro")


@dataclass
class Trained:
    """The product's router trained on the pack's train split, its fitted embedder, and both splits embedded."""

    router: object
    embedder: object
    train_q: list
    train_table: object
    train_x: np.ndarray
    test_q: list
    test_table: object
    test_x: np.ndarray


def train_router(data, without_subject: str | None = None) -> Trained:
    """``truth_cluster`` on TF-IDF, as ``rgd evaluate-recorded`` trains it (no labels: the true keys are hidden
    from it), on the pack's train split; ``without_subject``: that subject's questions left out of the train split
    (the test split keeps them)."""
    from rgd.embedding import fit_and_embed
    from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix
    from rgd.workflow.curate import build_consensus
    from rgd.workflow.train import fit_routers
    from rgd.workflow.training_data import TrainingData

    train_q, train_table = data.part("train")
    test_q, test_table = data.part("test")
    if without_subject is not None:
        keep = np.flatnonzero(np.asarray(train_table.subjects) != without_subject)
        train_q, train_table = [train_q[i] for i in keep], train_table.take(keep)
    embedder, train_x, test_x = fit_and_embed("tfidf", [q.text for q in train_q], [q.text for q in test_q])
    scorer, consensus = build_consensus(train_table)
    data_set = TrainingData.build(train_table, EmbeddingMatrix(train_table.question_ids, train_x, "tfidf", "tfidf"),
                                  ConsensusArtifact(scorer, consensus, train_table.question_ids), generated=False)
    fitted, _ = fit_routers(["truth_cluster"], {}, data_set.training_set)
    return Trained(fitted["truth_cluster"], embedder, train_q, train_table, train_x, test_q, test_table, test_x)


def obs_k2(order, clusters, choices, n_options, q_all, k: int = 2):
    from rgd.serving.monitor import Observation

    return [Observation(int(clusters[q]), int(n_options[q]), int(order[q, 0]),
                        tuple((int(m), int(choices[m, q])) for m in order[q, : 1 + k])) for q in q_all]


def degradation(obs, choices, answers, routed, table, recents, draws, n_reference: int = 200,
                voters=None) -> dict:
    """The routed model silently replaced by the pool's weakest (by the keys: the benchmark's setup, for reporting):
    its answers become that model's, on requests where that model is not a shadow (a replacement from outside the
    pool). A reference of ``n_reference`` shadowed requests before, ``recent`` after; the
    drift tests at the gateway's earlier defaults (estimated accuracy 5 points, majority agreement 10 points, z 3) on one
    estimate over both, as the gateway runs them; with ``voters`` (training's) as well as refitted."""
    from dataclasses import replace

    from rgd.serving.drift import AGREEMENT_DROP, accuracy_drop
    from rgd.serving.monitor import estimate

    true_acc = (choices == answers[None, :]).mean(axis=1)
    weak = int(np.argmin(true_acc))
    rng = np.random.default_rng(1)
    out = {"weak_model": table.models[weak], "weak_true_accuracy": round(float(true_acc[weak]), 4), "runs": []}
    # the replacement is not one of the pool's models: requests where the weak model is among the shadows are left
    # out of the "after" side (there its answers would be copied into the routed one, agreeing with themselves)
    clean = np.array([q for q, o in enumerate(obs) if weak not in [m for m, _ in o.choices]])
    out["after_candidates"] = int(len(clean))
    for recent in recents:
        for draw in range(draws):
            after = rng.choice(clean, recent, replace=False)
            before = rng.choice(np.setdiff1d(np.arange(len(obs)), after), n_reference, replace=False)
            swapped = []
            for q in after:  # the routed model's answer is now the weak model's
                o = obs[q]
                swapped.append(replace(o, choices=tuple((m, int(choices[weak, q]) if m == o.routed else c)
                                                        for m, c in o.choices)))
            window = [obs[q] for q in before] + swapped
            found = estimate(window, len(table.models), min_requests=30)
            alarm = accuracy_drop(found.per_request, n_reference, recent, 0.05, 3.0)
            agreement = accuracy_drop(found.per_request_majority, n_reference, recent, 0.10, 3.0, AGREEMENT_DROP)
            run = {
                "recent": recent, "draw": draw,
                "true_before": round(float((choices[routed[before], before] == answers[before]).mean()), 4),
                "true_after": round(float((choices[weak, after] == answers[after]).mean()), 4),
                "estimated_before": round(float(found.per_request[:n_reference].mean()), 4),
                "estimated_after": round(float(found.per_request[n_reference:].mean()), 4),
                "alarm": alarm is not None, "z": None if alarm is None else round(alarm.z, 2),
                "majority_before": round(float(found.per_request_majority[:n_reference].mean()), 4),
                "majority_after": round(float(found.per_request_majority[n_reference:].mean()), 4),
                "agreement_alarm": agreement is not None,
                "alarm_either": alarm is not None or agreement is not None}
            if voters is not None:
                fixed = estimate(window, len(table.models), min_requests=30, voters=voters)
                fixed_alarm = accuracy_drop(fixed.per_request, n_reference, recent, 0.05, 3.0)
                run |= {"fixed_before": round(float(fixed.per_request[:n_reference].mean()), 4),
                        "fixed_after": round(float(fixed.per_request[n_reference:].mean()), 4),
                        "fixed_alarm": fixed_alarm is not None,
                        "fixed_z": None if fixed_alarm is None else round(fixed_alarm.z, 2),
                        "fixed_alarm_either": fixed_alarm is not None or agreement is not None}
            out["runs"].append(run)
            print(out["runs"][-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--k", default="2", help="shadow models per request (a comma-separated list: each in turn)")
    ap.add_argument("--windows", default="200,500,1000,2000,3609")
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--recent", default="20,40,100,200", help="shadowed requests after the degradation")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the shared MMLU-Pro pack")
    from rgd.data.recorded import load_recorded
    from rgd.routers.skill_clusters import skill_clusters
    from rgd.serving import monitor
    from rgd.serving.monitor import Observation, estimate, training_voters

    t0 = time.perf_counter()
    data = load_recorded(args.data)
    trained = train_router(data)
    router, test_x, test_table = trained.router, trained.test_x, trained.test_table
    voters = training_voters(router)
    t_train = time.perf_counter() - t0

    order = router.rank(test_x)
    clusters = skill_clusters(router, test_x)
    choices, answers = test_table.choices.astype(np.int64), test_table.answers.astype(np.int64)
    n_options = test_table.n_options.astype(np.int64)
    q_all = np.arange(len(answers))
    routed = order[:, 0]
    right = choices[routed, q_all] == answers
    rows = []
    for k in [int(x) for x in args.k.split(",")]:
        obs = [Observation(int(clusters[q]), int(n_options[q]), int(routed[q]),
                           tuple((int(m), int(choices[m, q])) for m in order[q, : 1 + k])) for q in q_all]
        rng = np.random.default_rng(0)
        for n in [int(w) for w in args.windows.split(",")]:
            for draw in range(args.draws if n < len(obs) else 1):
                pick = np.sort(rng.choice(len(obs), n, replace=False)) if n < len(obs) else q_all
                window = [obs[i] for i in pick]
                row = {"k": k, "window": n, "draw": draw, "true_accuracy": round(float(right[pick].mean()), 4)}
                for voter_model in ("onecoin", "irt"):
                    monitor.TRUTH_MODEL = voter_model
                    t = time.perf_counter()
                    found = estimate(window, len(test_table.models), min_requests=30)
                    row[voter_model] = round(found.overall.estimated_accuracy, 4)
                    row[f"{voter_model}_s"] = round(time.perf_counter() - t, 3)
                t = time.perf_counter()
                fixed = estimate(window, len(test_table.models), min_requests=30, voters=voters)
                row["fixed"] = round(fixed.overall.estimated_accuracy, 4)
                row["fixed_s"] = round(time.perf_counter() - t, 3)
                row["majority_agreement"] = round(found.overall.majority_agreement, 4)
                row["agreement"] = round(found.overall.agreement, 4)
                rows.append(row)
                print(row, flush=True)
    monitor.TRUTH_MODEL = "onecoin"
    degraded = degradation(obs_k2(order, clusters, choices, n_options, q_all), choices, answers, routed, test_table,
                           [int(x) for x in args.recent.split(",")], args.draws, voters=voters)
    summary = {}
    for k, n in sorted({(r["k"], r["window"]) for r in rows}):
        mine = [r for r in rows if r["window"] == n and r["k"] == k]
        key = f"k{k}_window{n}"
        summary[key] = {f"{m}_error_max": round(max(abs(r[m] - r["true_accuracy"]) for r in mine), 4)
                        for m in ("onecoin", "irt", "fixed", "majority_agreement")}
        summary[key] |= {f"{m}_error_mean": round(float(np.mean([r[m] - r["true_accuracy"] for r in mine])), 4)
                         for m in ("onecoin", "irt", "fixed", "majority_agreement")}
    for recent in sorted({r["recent"] for r in degraded["runs"]}):
        mine = [r for r in degraded["runs"] if r["recent"] == recent]
        summary[f"degraded_recent{recent}"] = {f"{a}_fired": sum(r.get(a, False) for r in mine) for a in (
            "alarm", "fixed_alarm", "agreement_alarm", "alarm_either", "fixed_alarm_either")} | {"draws": len(mine)}
    doc = {"k": args.k, "router": "truth_cluster (tfidf)", "n_clusters": int(len(np.unique(clusters))),
           "routed_models": {test_table.models[m]: int(c) for m, c in zip(*np.unique(routed, return_counts=True))},
           "test_top1_true": round(float(right.mean()), 4),
           "training_estimate_of_routed": None if voters is None else round(float(np.mean(
               voters.accuracy[clusters, routed])), 4), "train_s": round(t_train, 1), "rows": rows,
           "summary": summary, "degraded": degraded}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
