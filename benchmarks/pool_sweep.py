"""Does the product's router hold on pools it was not developed on? Random pools drawn from the recorded models.

    python benchmarks/pool_sweep.py [--data ../shared/data/mmlu_pro] [--pools 24] [--embedder minilm] [--output FILE]

The issue-9 settings are two pools of one data set, and every default of the product's router was
developed on them. Here each pool is a seeded random draw of 3 to 10 models from the 15 with recorded
answers (the 12 of the developers' pool, plus the three of ``generators/`` as pool members: one strong, two
weak with many unanswered questions), no keys. Per pool: the test top-1 / top-3 vote of truth_cluster
(the default router), cascal and the pool's majority vote, and the test top-1 of the model with the best
train accuracy (``best_single``, which learns from the true train keys: a reference a label-free router
must come close to, not a router the product could run). The true test keys are for reporting only.

Reported: per pool the figures and the default router's margins over best_single and cascal; overall the
mean, the worst margin and how many pools the default router loses by more than 1 point.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

ROUTERS = ("truth_cluster", "cascal", "best_single")


def pool_dir(data: Path, into: Path, members: list[str]) -> Path:
    """A recorded directory (symlinks) whose pool is ``members``, taken from ``responses/`` or ``generators/``."""
    (into / "responses").mkdir(parents=True, exist_ok=True)
    for name in ("questions.jsonl.gz", "split.json"):
        os.symlink(data / name, into / name)
    for m in members:
        src = data / "responses" / f"{m}.jsonl.gz"
        os.symlink(src if src.exists() else data / "generators" / f"{m}.jsonl.gz", into / "responses" / src.name)
    return into


def available_models(data: Path) -> list[str]:
    return sorted(p.name.removesuffix(".jsonl.gz") for d in ("responses", "generators")
                  for p in (data / d).glob("*.jsonl.gz"))


def draw_pools(models: list[str], n_pools: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [sorted(rng.choice(models, size=int(rng.integers(3, 11)), replace=False).tolist()) for _ in range(n_pools)]


def summary(rows: list[dict]) -> dict:
    out = {}
    for ref in ("best_single", "cascal", "majority_all"):
        for metric in ("top1", "top3_vote"):
            if ref == "best_single" and metric == "top3_vote":
                continue
            m = np.array([r["margins"][f"{metric}_vs_{ref}"] for r in rows])
            out[f"{metric}_vs_{ref}"] = {"mean": round(float(m.mean()), 4), "worst": round(float(m.min()), 4),
                                         "pools_below_by_1pt": int((m < -0.01).sum())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--pools", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0, help="the draw of the pools (the routers' seed is 0)")
    ap.add_argument("--params", type=json.loads, default={},
                    help='truth_cluster parameters as JSON, e.g. \'{"local_margin": 0.03}\' (default: the library\'s)')
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    embed_once = embed_with(args.embedder, args.cache)
    vectors: list = []

    def embed(train_texts, test_texts):  # every pool has the same questions: embed them once
        if not vectors:
            vectors.extend(embed_once(train_texts, test_texts))
        return vectors[0], vectors[1]

    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, members in enumerate(draw_pools(available_models(args.data), args.pools, args.seed)):
            report = run_recorded(load_recorded(pool_dir(args.data, Path(tmp) / f"pool{i}", members)), embed,
                                  routers=ROUTERS, embedder_name=args.embedder,
                                  router_params={"truth_cluster": args.params})
            r = {k: report["routers"][k] for k in ROUTERS}
            majority = report["routers"]["majority_all"]["top1"]
            tc = r["truth_cluster"]
            row = {"pool": members, "routers": {k: {"top1": round(v["top1"], 4), "top3_vote": round(v["top3_vote"], 4)}
                                                for k, v in r.items()},
                   "majority_all": round(majority, 4), "level": report["truth_cluster"]["level"],
                   "margins": {"top1_vs_best_single": round(tc["top1"] - r["best_single"]["top1"], 4),
                               "top1_vs_cascal": round(tc["top1"] - r["cascal"]["top1"], 4),
                               "top3_vote_vs_cascal": round(tc["top3_vote"] - r["cascal"]["top3_vote"], 4),
                               "top1_vs_majority_all": round(tc["top1"] - majority, 4),
                               "top3_vote_vs_majority_all": round(tc["top3_vote"] - majority, 4)}}
            rows.append(row)
            print(f"pool {i:2d} ({len(members):2d} models) truth_cluster {tc['top1']:.4f}/{tc['top3_vote']:.4f} "
                  f"cascal {r['cascal']['top1']:.4f}/{r['cascal']['top3_vote']:.4f} best_single "
                  f"{r['best_single']['top1']:.4f} majority {majority:.4f} level {row['level']}", flush=True)
    out = {"embedder": args.embedder, "seed": args.seed, "truth_cluster_params": args.params, "pools": rows, "summary": summary(rows),
           "wall_s": round(time.perf_counter() - t_start, 1)}
    print(json.dumps(out["summary"], indent=1))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
