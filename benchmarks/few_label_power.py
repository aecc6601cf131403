"""How often do a few labels pick the worse of two models? The statistical limit of the few-label mode.

    python benchmarks/few_label_power.py [--models Meta-Llama-3-70B Qwen1.5-110B] [--labels 30] [--draws 20000]

`rgd check` asks at most ``--labels`` questions where the two contenders answer differently, drawn at random
among those (:func:`rgd.few_labels.questions_to_ask`), and where the label-free choice was flagged the one right
on more of them wins (a tie keeps the label-free leader). This replays that draw ``--draws`` times on the
shared pack's recorded train answers of two models, the true keys played as the user's labels (reporting
only), and says how often the labels favour the model with the lower train accuracy: what a flagged pool whose
two contenders are this close loses to the luck of the draw, whatever the estimator.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd import few_labels  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402


def power(choices: np.ndarray, answers: np.ndarray, pair: np.ndarray, labels: int, draws: int) -> dict:
    """Over ``draws`` draws of ``labels`` questions where the two models of ``pair`` answer differently (seeds
    0..draws-1, as `rgd check --ask --seed S` draws them): how often the one with the lower accuracy is right on
    more of them, and how often the two tie."""
    right = np.asarray(choices)[pair] == np.asarray(answers)[None, :]
    worse = int(np.argmin(right.mean(axis=1)))
    worse_wins = ties = 0
    for seed in range(draws):  # one draw of the few-label mode per seed (a loop over draws, not over questions)
        counts = right[:, few_labels.questions_to_ask(choices, pair, labels, seed)].sum(axis=1)
        worse_wins += int(counts[worse] > counts[1 - worse])
        ties += int(counts[0] == counts[1])
    return {"accuracy": np.round(right.mean(axis=1), 4).tolist(),
            "answer_differently": round(float((choices[pair[0]] != choices[pair[1]]).mean()), 4),
            "labels": labels, "draws": draws, "worse_has_more_right": round(worse_wins / draws, 4),
            "tied": round(ties / draws, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--models", nargs=2, default=["Meta-Llama-3-70B", "Qwen1.5-110B"])
    ap.add_argument("--labels", type=int, default=few_labels.DEFAULT_QUESTIONS)
    ap.add_argument("--draws", type=int, default=20000)
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: this benchmark needs the shared MMLU-Pro pack")
    _, table = load_recorded(args.data).part("train")
    missing = [m for m in args.models if m not in table.models]
    if missing:
        sys.exit(f"not in the pack: {missing}; it has {list(table.models)}")
    pair = np.array([table.models.index(m) for m in args.models])
    print(json.dumps({"models": args.models, **power(table.choices, table.answers, pair, args.labels, args.draws)},
                     indent=1))


if __name__ == "__main__":
    main()
