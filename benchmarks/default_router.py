"""The product's router (truth_cluster) against CASCAL and the key-trained routers on recorded MMLU-Pro.

    python benchmarks/default_router.py [--data ../shared/data/mmlu_pro] [--output FILE]

Settings (issue 9): the developers' 12-model pool without keys; the same pool with each generator of
``generators/`` as the training keys (``--keys-from``: label-using baselines learn from them, the product's
router weighs them as one more voter); and a pool in which one model dominates (the 12 models plus
gemini-1.5-pro-002 from ``generators/`` as a 13th member, no keys). MiniLM embeddings through the library's
cache (computed once). The test split's true keys are used for reporting only.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.pool_sweep import pool_dir  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

GENERATORS = {"strong": "gemini-1.5-pro-002", "weak": "Mistral-7B-Instruct-v0.1", "very_weak": "Llama-2-7b-hf"}
ROUTERS = ("truth_cluster", "cascal", "knn", "mlp", "best_single")


def dominant_pool(data: Path, into: Path) -> Path:
    """A recorded directory of the 12 models plus the strong generator as a pool member (symlinks)."""
    pool = sorted(p.name.removesuffix(".jsonl.gz") for p in (data / "responses").glob("*.jsonl.gz"))
    return pool_dir(data, into, [*pool, GENERATORS["strong"]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    embed = embed_with("minilm", args.cache)
    out: dict = {"runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        settings = [("developers", None), *(("developers", g) for g in GENERATORS), ("dominant", None)]
        for pool, gen in settings:
            directory = args.data if pool == "developers" else dominant_pool(args.data, Path(tmp) / "dominant")
            keys = None if gen is None else args.data / "generators" / f"{GENERATORS[gen]}.jsonl.gz"
            t0 = time.perf_counter()
            report = run_recorded(load_recorded(directory), embed, routers=ROUTERS, seed=args.seed, keys_from=keys,
                                  embedder_name="minilm")
            row = {"pool": pool, "keys": None if gen is None else GENERATORS[gen],
                   "routers": {k: {"top1": round(v["top1"], 4), "top3_vote": round(v["top3_vote"], 4)}
                               for k, v in report["routers"].items()},
                   "truth_cluster": report["router_summaries"]["truth_cluster"],
                   "fit_s": report["run"]["timings_s"]["train"],
                   "seconds": round(time.perf_counter() - t0, 1)}
            out["runs"].append(row)
            print(pool, row["keys"], {k: (v["top1"], v["top3_vote"]) for k, v in row["routers"].items()},
                  "level:", row["truth_cluster"]["level"], "key anchor:", row["truth_cluster"]["key_anchor"],
                  flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
