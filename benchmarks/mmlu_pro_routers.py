"""Every router on the recorded MMLU-Pro pool (12 LLMs), over seeds, with and without wrong training keys.

    python benchmarks/mmlu_pro_routers.py [--data ../shared/data/mmlu_pro] [--seeds 5] [--output FILE]

Runs what ``rgd evaluate-recorded DATA --embedder minilm [--label-noise 0.4] [--seed S] [TUNED]`` runs, for
seeds 0..N-1 (the seed drives k-means, consensus tie-breaks, label noise and the random router), in two
CASCAL settings:

* ``paper``: every model votes in the consensus, CASCAL's library defaults;
* ``tuned``: the setting chosen by ``benchmarks/tune_cascal.py`` on sub-splits of the TRAIN split only:
  ``--voters 0.4 --cascal rank_min_agreement=0.5 --cascal n_nearest=1 --cascal distance_threshold=0.4
  --cascal fallback=subject``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

SETTINGS = {
    "paper": ({}, {}),
    "tuned": (
        {"n_voters": 0.4},
        {"rank_min_agreement": 0.5, "n_nearest": 1, "distance_threshold": 0.4, "fallback": "subject"},
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()

    data = load_recorded(args.data)
    embed = embed_with("minilm", args.cache)
    cache: dict = {}

    def cached_embed(train_texts, test_texts):  # one embedding pass for every run
        if not cache:
            cache["x"] = embed(train_texts, test_texts)
        return cache["x"]

    out: dict = {"runs": []}
    for setting, (consensus, cascal) in SETTINGS.items():
        for noise in (0.0, 0.4):
            per_seed = []
            for seed in range(args.seeds):
                r = run_recorded(
                    data, cached_embed, label_noise=noise, noise_kind="plausible", seed=seed,
                    consensus_params=consensus, router_params={"cascal": cascal},
                    embedder_name="minilm",
                )
                per_seed.append({k: (v["top1"], v["top3_vote"]) for k, v in r["routers"].items()})
            names = per_seed[0]
            summary = {
                n: {
                    "top1_mean": float(np.mean([s[n][0] for s in per_seed])),
                    "top1_sd": float(np.std([s[n][0] for s in per_seed])),
                    "top3_vote_mean": float(np.mean([s[n][1] for s in per_seed])),
                    "top3_vote_sd": float(np.std([s[n][1] for s in per_seed])),
                    "top1_seed0": per_seed[0][n][0],
                    "top3_vote_seed0": per_seed[0][n][1],
                }
                for n in names
            }
            out["runs"].append({"setting": setting, "label_noise": noise, "seeds": args.seeds, "routers": summary,
                                "timings_s_seed_last": {**r["run"]["timings_s"], "route": r["route_seconds"]}})
            print(f"{setting:6s} noise={noise}: " + "  ".join(
                f"{n} {s['top1_mean']:.4f}/{s['top3_vote_mean']:.4f}" for n, s in summary.items()))
    if args.output:
        args.output.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
