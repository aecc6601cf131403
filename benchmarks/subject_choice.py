"""Why the product's router routes the developers' pool globally: per-subject choices with and without labels.

    python benchmarks/subject_choice.py [--data ../shared/data/mmlu_pro] [--output FILE]

For each way of estimating who is right on the train split, the models are ranked by their estimated accuracy,
and each subject is then routed to the candidate (among the K best-ranked) whose estimated accuracy in that
subject is highest; reported is that routing's test top-1 (true test keys, reporting only).

- ``labels``: the train split's true keys, the ceiling a label-free estimate could reach with this rule;
- ``estimate``: the product's truth estimate (``rgd.truth.estimate_truth`` with subjects, no key);
- ``leave_one_out``: the same fit, each model then judged by the posterior of the other models' votes only
  (its own vote's factor removed), to see whether a model's agreement with itself is the bias.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd import truth  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402


def leave_one_out_scores(table, est) -> np.ndarray:
    """(M, Q) each model's P(right) under the posterior of every other voter, with the fitted voter models."""
    confidence = table.confidence if table.has_confidence else None
    votes = truth._Votes(table.choices, table.n_options, confidence, None, table.subjects)
    prm = est.params
    p = np.clip(truth._sigmoid(truth._eta(votes, prm["theta"], prm["delta"], prm["beta"], est.difficulty)),
                1e-4, 1 - 1e-4)
    m_count, q_count = table.choices.shape
    out = np.zeros((m_count, q_count))
    for m in range(m_count):
        choices = table.choices.copy()
        choices[m] = -1  # an unanswered vote adds nothing to the posterior
        posterior, _, _ = truth._e_step(truth._Votes(choices, table.n_options, confidence, None, table.subjects),
                                        p, prm["rho"])
        c = table.choices[m]
        out[m] = np.where(c >= 0, posterior[np.arange(q_count), np.clip(c, 0, None)], 0.0)
    return out


def subject_routing(scores: np.ndarray, train, test, k: int) -> float:
    """Test top-1 of routing each subject to the best (by ``scores``) of the ``k`` best-ranked models."""
    candidates = np.argsort(-scores.mean(axis=1), kind="stable")[:k]
    correct = test.correct()
    right = 0
    for subject in np.unique(train.subjects):
        in_train, in_test = train.subjects == subject, test.subjects == subject
        pick = candidates[np.argmax(scores[candidates][:, in_train].mean(axis=1))]
        right += int(correct[pick][in_test].sum())
    return right / test.n_questions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args()
    data = load_recorded(args.data)
    _, train = data.part("train")
    _, test = data.part("test")
    confidence = train.confidence if train.has_confidence else None
    est = truth.estimate_truth(train.choices, train.n_options, confidence, subjects=train.subjects)
    ways = {"labels": train.correct().astype(np.float64), "estimate": est.pool_scores,
            "leave_one_out": leave_one_out_scores(train, est)}
    result = {"n_train": train.n_questions, "n_test": test.n_questions, "ways": {}}
    for name, scores in ways.items():
        ranked = np.argsort(-scores.mean(axis=1), kind="stable")
        result["ways"][name] = {
            "ranking": [[train.models[i], round(float(scores[i].mean()), 4)] for i in ranked[:4]],
            **{f"top{k}_candidates": round(subject_routing(scores, train, test, k), 4) for k in (1, 2, 3, train.n_models)},
        }
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
