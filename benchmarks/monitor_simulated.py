"""Live monitoring's estimate on the simulated world of the default run, offline (issue 24.3, towards 24.5).

    python benchmarks/monitor_simulated.py --output benchmarks/results/monitor_simulated.json

The default run's stages in process (``benchmarks/real_questions.py``'s ``train_default``: generation, the pool's
answers, the filter, the product's router), then each of the world's test questions as a shadowed request of the
gateway's monitor (the routed model and the next k of the ranking, their simulated answers, the router's skill
cluster), as ``benchmarks/monitor_recorded.py`` does on the MMLU-Pro pack: the estimate beside the true accuracy
(the world's keys, for reporting only), then the routed model replaced by the pool's weakest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from monitor_recorded import degradation, obs_k2  # noqa: E402
from real_questions import train_default  # noqa: E402


def default_test_answers():
    """The default run trained in process, and its world's test questions: (world, bundle, questions, the pool's
    answer table, their embeddings)."""
    from rgd import workflow as stages
    from rgd.config.run_file import load_run_file

    with tempfile.TemporaryDirectory() as cache:
        world, pool, bundle, _, _ = train_default(None, Path(cache))
        config, _ = load_run_file(REPO / "configs" / "default.yaml")
        test = list(stages.load_test_set(config).questions)
        table = pool.answer_table(test)
        x = bundle.embedder.embed([q.text for q in test])
    return world, bundle, test, table, x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--k", default="2,4")
    ap.add_argument("--windows", default="200,1000")
    ap.add_argument("--draws", type=int, default=3)
    args = ap.parse_args()
    from rgd.routers.skill_clusters import skill_clusters
    from rgd.serving.monitor import estimate, training_voters

    t0 = time.perf_counter()
    world, bundle, test, table, x = default_test_answers()
    t_train = time.perf_counter() - t0
    order = bundle.router.rank(x)
    voters = training_voters(bundle.router)  # None unless the router is truth_cluster: then only the refit
    clusters = skill_clusters(bundle.router, x)
    choices = table.choices.astype(np.int64)
    answers = np.asarray(world.true_keys(test), dtype=np.int64)
    n_options, q_all, routed = table.n_options.astype(np.int64), np.arange(len(test)), order[:, 0]
    right = choices[routed, q_all] == answers
    rows, rng = [], np.random.default_rng(0)
    for k in [int(v) for v in args.k.split(",")]:
        obs = obs_k2(order, clusters, choices, n_options, q_all, k)
        for n in [int(w) for w in args.windows.split(",")] + [len(obs)]:
            for draw in range(args.draws if n < len(obs) else 1):
                pick = np.sort(rng.choice(len(obs), n, replace=False)) if n < len(obs) else q_all
                found = estimate([obs[i] for i in pick], len(table.models), min_requests=30)
                fixed = estimate([obs[i] for i in pick], len(table.models), min_requests=30, voters=voters)
                rows.append({"k": k, "window": n, "draw": draw, "true_accuracy": round(float(right[pick].mean()), 4),
                             "estimated": round(found.overall.estimated_accuracy, 4),
                             "fixed": round(fixed.overall.estimated_accuracy, 4), "fixed_estimator": fixed.estimator,
                             "majority_agreement": round(found.overall.majority_agreement, 4)})
                print(rows[-1], flush=True)
    degraded = degradation(obs_k2(order, clusters, choices, n_options, q_all), choices, answers, routed, table,
                           [20, 40, 100], args.draws, voters=voters)
    summary = {}
    for k, n in sorted({(r["k"], r["window"]) for r in rows}):
        mine = [r for r in rows if (r["k"], r["window"]) == (k, n)]
        summary[f"k{k}_window{n}"] = {
            "error_mean": round(float(np.mean([r["estimated"] - r["true_accuracy"] for r in mine])), 4),
            "error_max": round(max(abs(r["estimated"] - r["true_accuracy"]) for r in mine), 4),
            "fixed_error_mean": round(float(np.mean([r["fixed"] - r["true_accuracy"] for r in mine])), 4),
            "fixed_error_max": round(max(abs(r["fixed"] - r["true_accuracy"]) for r in mine), 4)}
    doc = {"world": "configs/default.yaml", "test_questions": len(test), "test_top1_true": round(float(right.mean()), 4),
           "n_clusters": int(len(np.unique(clusters))), "train_s": round(t_train, 1), "rows": rows,
           "summary": summary, "degraded": degraded}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
