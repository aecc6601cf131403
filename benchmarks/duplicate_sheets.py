"""Pools where one model answers under two names (identical answer sheets), and pools with nobody to judge.

    python benchmarks/duplicate_sheets.py [--data ../shared/data/mmlu_pro] [--output FILE]

A model served twice (two endpoints, two names) or a responses file recorded twice gives the pool a second,
identical answer sheet; a quantised variant, a near copy (here: the model's answers with a seeded 10% of them
redrawn at random among A-J). Per pool: the label-free estimate's top model (the product's
:meth:`TruthClusterRouter.estimate_votes` on the train split), its test top-1 against the model with the best
train accuracy (`best_single`, reporting only), the identifiability flag, whether any model besides the two
first-ranked judges them, and the few labels' contenders. The true keys are for reporting only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.pool_sweep import pool_dir  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.routers.truth_cluster import TruthClusterRouter  # noqa: E402

GEMINI, MISTRAL, GEMMA, QWEN7 = "gemini-1.5-pro-002", "Mistral-7B-Instruct-v0.2", "gemma-7b", "Qwen1.5-7B-Chat"
#: name: (members, or None for the 12-model pack; models answering a second time under another name)
CASES = {
    "12-model pack": (None, []),
    "12-model pack + a second Mistral-7B-v0.2": (None, [MISTRAL]),
    "12-model pack + Qwen1.5-7B twice more": (None, [QWEN7, QWEN7]),
    "gemini + 3 weak": ([GEMINI, MISTRAL, GEMMA, QWEN7], []),
    "gemini + 3 weak + a second Mistral-7B-v0.2": ([GEMINI, MISTRAL, GEMMA, QWEN7], [MISTRAL]),
    "gemini + 2 weak + Mistral-7B-v0.2 twice more": ([GEMINI, MISTRAL, GEMMA], [MISTRAL, MISTRAL]),
    "gemini + Mistral-7B-v0.2 + a second Mistral": ([GEMINI, MISTRAL], [MISTRAL]),
    "gemini + Mistral-7B-v0.2 (two models)": ([GEMINI, MISTRAL], []),
    "gemini + Mistral-7B-v0.2 + a near copy of it (10% redrawn)": ([GEMINI, MISTRAL], [(MISTRAL, 0.1)]),
    "gemini + Mistral-7B-v0.2, gemma-7b + a near copy of Mistral": ([GEMINI, MISTRAL, GEMMA], [(MISTRAL, 0.1)]),
}


def pool(data: Path, into: Path, members: list[str], again: list) -> Path:
    """:func:`benchmarks.pool_sweep.pool_dir` of ``members``, and each of ``again`` answering once more under
    another name: a model name (the same file), or ``(model, share)`` for a near copy of it."""
    pool_dir(data, into, members)
    for k, m in enumerate(again):
        name, share = m if isinstance(m, tuple) else (m, None)
        src = (into / "responses" / f"{name}.jsonl.gz").resolve()  # pool_dir found it in responses/ or generators/
        if share is None:
            os.symlink(src, into / "responses" / f"{name}~again{k + 1}.jsonl.gz")
        else:
            near_copy(src, into / "responses" / f"{name}~near{k + 1}.jsonl.gz", share, seed=k)
    return into


def near_copy(src: Path, dst: Path, share: float, seed: int) -> None:
    """``src``'s answers with a seeded ``share`` of them redrawn at random among A-J."""
    rng = np.random.default_rng([seed, 0xC0B1])
    with gzip.open(src, "rt", encoding="utf-8") as f, gzip.open(dst, "wt", encoding="utf-8") as out:
        for line in f:
            row = json.loads(line)
            if rng.random() < share:
                row["pred"] = "ABCDEFGHIJ"[int(rng.integers(10))]
            out.write(json.dumps({"question_id": row["question_id"], "pred": row["pred"]}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (members, again)) in enumerate(CASES.items()):
            members = members or sorted(p.name.removesuffix(".jsonl.gz") for p in (args.data / "responses").glob("*.jsonl.gz"))
            ds = load_recorded(pool(args.data, Path(tmp) / str(i), members, again))
            _, train = ds.part("train")
            _, test = ds.part("test")
            with threadpool_limits(limits=1, user_api="blas"):
                ident = TruthClusterRouter().estimate_votes(train, None, train.subjects).params["identifiability"]
            acc = test.accuracy()
            best = float(acc[int(np.argmax(train.accuracy()))])
            row = {"pool": name, "models": len(members) + len(again), "leader": train.models[ident.leader],
                   "top1_vs_best_single": round(float(acc[ident.leader]) - best, 4),
                   "identifiable": ident.identifiable,  # judges None: code before the field (the README's before)
                   "judges": getattr(ident, "judges", None),
                   "contenders": [train.models[m] for m in ident.contenders]}
            rows.append(row)
            print(f"{name:62s} {row['leader']:28s} {row['top1_vs_best_single']:+.3f} "
                  f"{'settled' if ident.identifiable else 'FLAGGED'}{' (no judge)' if row['judges'] is False else ''}", flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"pools": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
