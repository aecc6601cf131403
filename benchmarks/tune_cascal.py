"""Choose CASCAL's routing parameters without touching the test split, then report on it once.

    python benchmarks/tune_cascal.py [--data ../shared/data/mmlu_pro] [--splits 3] [--output FILE]

Protocol: the official train split is cut ``--splits`` times into 70/30 (stratified by subject, seeded)
sub-train / validation parts. Every configuration of the grid is fitted on each sub-train part (labels are
never read by CASCAL) and scored on the validation part with its answer keys; the configuration with the
best mean (top-1 + top-3 vote) over the splits is then fitted on the whole train split and evaluated once
on the official test split. The labels of the train split are used only for this choice of parameters,
as a developer tuning a label-free router on a development set would.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.consensus import ConsensusScorer  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.evaluation.metrics import evaluate_ranks  # noqa: E402
from rgd.routers.base import TrainingSet  # noqa: E402
from rgd.routers.cascal import CascalRouter  # noqa: E402
from rgd.workflow.recorded import embed_with  # noqa: E402

#: parameters of the consensus the router learns from
CONSENSUS_GRID = {"n_voters": [None, 0.3, 0.4, 0.5], "voter_scope": ["pool", "subject"]}
#: parameters that change the fitted state
FIT_GRID = {"rank_min_agreement": [0.0, 0.5]}
#: parameters read only at routing time (varied on one fitted router)
ROUTE_GRID = {
    "n_nearest": [1, 3],
    "distance_threshold": [0.4, 0.6],
    "fallback": ["global", "subject"],
}


def stratified_cut(subjects: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    first, second = [], []
    for s in np.unique(subjects):
        idx = rng.permutation(np.flatnonzero(subjects == s))
        cut = int(round(len(idx) * fraction))
        first.append(idx[:cut])
        second.append(idx[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def blind(table):
    return table.with_answers(np.full(table.n_questions, -1))


def split_params(params: dict) -> tuple[dict, dict]:
    consensus = {k: v for k, v in params.items() if k in CONSENSUS_GRID}
    return consensus, {k: v for k, v in params.items() if k not in CONSENSUS_GRID}


def evaluate_grid(train, train_x, val, val_x) -> list[tuple[dict, float, float]]:
    out = []
    for cons_vals in itertools.product(*CONSENSUS_GRID.values()):
        cons_params = dict(zip(CONSENSUS_GRID, cons_vals))
        scorer = ConsensusScorer(**cons_params).fit(train)
        consensus = scorer.score(train)
        z = scorer.zscores(val)
        for fit_vals in itertools.product(*FIT_GRID.values()):
            fit_params = dict(zip(FIT_GRID, fit_vals))
            router = CascalRouter(subject_routing="knn", **fit_params).fit(TrainingSet(blind(train), train_x, consensus))
            for route_vals in itertools.product(*ROUTE_GRID.values()):
                route_params = dict(zip(ROUTE_GRID, route_vals))
                for k, v in route_params.items():
                    setattr(router, k, v)
                ev = evaluate_ranks(router.rank(val_x), val, z)
                out.append(({**cons_params, **fit_params, **route_params}, ev.top1, ev.top3_vote))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()

    t_start = time.perf_counter()
    data = load_recorded(args.data)
    train_q, train = data.part("train")
    test_q, test = data.part("test")
    train_x, test_x = embed_with(args.embedder, args.cache)([q.text for q in train_q], [q.text for q in test_q])

    scores: dict[str, list[tuple[float, float]]] = {}
    params_of: dict[str, dict] = {}
    for split in range(args.splits):
        sub, val = stratified_cut(train.subjects, 0.7, seed=1000 + split)
        for params, t1, t3 in evaluate_grid(train.take(sub), train_x[sub], train.take(val), train_x[val]):
            key = json.dumps(params, sort_keys=True)
            scores.setdefault(key, []).append((t1, t3))
            params_of[key] = params
    table = sorted(
        (
            {"params": params_of[k], "val_top1": float(np.mean([a for a, _ in v])),
             "val_top3_vote": float(np.mean([b for _, b in v]))}
            for k, v in scores.items()
        ),
        key=lambda r: -(r["val_top1"] + r["val_top3_vote"]),
    )
    best = table[0]["params"]
    defaults = {**CascalRouter().params(), **{k: getattr(ConsensusScorer(), k) for k in CONSENSUS_GRID}}
    default_row = next((r for r in table if all(r["params"][k] == defaults[k] for k in r["params"])), None)

    report = {"protocol": __doc__.strip().splitlines()[2:], "n_configs": len(table), "splits": args.splits}
    for name, params in (("chosen", best), ("library_defaults", {k: defaults[k] for k in best})):
        cons_params, router_params = split_params(params)
        scorer = ConsensusScorer(**cons_params).fit(train)
        consensus = scorer.score(train)
        z = scorer.zscores(test)
        router = CascalRouter(**router_params).fit(TrainingSet(blind(train), train_x, consensus))
        ev = evaluate_ranks(router.rank(test_x), test, z)
        report[name] = {"params": params, "test_top1": ev.top1, "test_top3_vote": ev.top3_vote}
        print(f"{name:17s} test top-1 {ev.top1:.4f}  top-3 vote {ev.top3_vote:.4f}  {params}")
    report["validation_default_row"] = default_row
    report["validation_top10"] = table[:10]
    report["validation_all"] = table
    report["wall_s"] = time.perf_counter() - t_start
    for r in table[:10]:
        print(f"val top-1 {r['val_top1']:.4f} top-3 {r['val_top3_vote']:.4f} {r['params']}")
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
