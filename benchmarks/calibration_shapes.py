"""The cost policy's calibration shape on recorded MMLU-Pro: Platt (logistic, the default) vs isotonic.

    python benchmarks/calibration_shapes.py [--data ../shared/data/mmlu_pro] [--cache DIR] [--output FILE]

For each shape: the label-free fit (3-fold cross-validated Brier score of the calibration against its own
target, the truth estimate, over the out-of-fold router scores the policy is calibrated on: no labels) and,
for reporting only, the cost curve on the test split (AIQ, best top-1 at <= half the best single model's
cost, points and hull). Costs: ``models.json``'s active parameters. MiniLM embeddings through the library
cache (computed once, ~30 min on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.routers import policy  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

ROUTERS = ("truth_cluster", "knn")


def cv_brier(scores: np.ndarray, target: np.ndarray, models, shape: str, folds: int = 3) -> float:
    fold = np.random.default_rng(0).permutation(np.arange(len(scores)) % folds)
    errs = []
    for k in range(folds):
        cal = policy.Calibrator.fit(scores[fold != k], target[fold != k], models, shape=shape)
        errs.append(float(((cal.predict(scores[fold == k]) - target[fold == k]) ** 2).mean()))
    return float(np.mean(errs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args()
    fit = policy.Calibrator.fit.__func__
    out: dict = {}
    for shape in policy.CALIBRATION_SHAPES:
        captured: list = []

        def shaped(cls, scores, target, models, shape_=shape, captured=captured, **_):
            captured.append((np.asarray(scores, float), np.asarray(target, float), tuple(models)))
            return fit(cls, scores, target, models, shape=shape_)

        policy.Calibrator.fit = classmethod(shaped)
        try:
            report = run_recorded(args.data, embed_with("minilm", args.cache), routers=ROUTERS,
                                  costs=args.data / "models.json")
        finally:
            policy.Calibrator.fit = classmethod(fit)
        for (scores, target, models), name in zip(captured, report["cost"]["cost_curves"]):
            curve = report["cost"]["cost_curves"][name]
            row = {"label_free_cv_brier": cv_brier(scores, target, models, shape), "aiq": curve["aiq"],
                   "at_half_cost_top1": curve["at_half_cost_top1"],
                   "at_half_cost_hull_top1": curve["at_half_cost_hull_top1"],
                   "dominates_every_single": curve["dominates_every_single"],
                   "ece": report["cost"]["calibration"][name]["ece"]}
            out.setdefault(name, {})[shape] = row
            print(f"{name:<14}{shape:<10} label-free CV Brier {row['label_free_cv_brier']:.4f}  AIQ {row['aiq']:.4f}  "
                  f"half-cost top-1 {row['at_half_cost_top1']:.4f} (hull {row['at_half_cost_hull_top1']:.4f})  "
                  f"dominates {row['dominates_every_single']}  ECE {row['ece']:.4f}", flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
