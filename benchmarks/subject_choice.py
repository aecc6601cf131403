"""Why the product's router routes the developers' pool globally: per-subject choices with and without labels.

    python benchmarks/subject_choice.py [--data ../shared/data/mmlu_pro] [--dominant] [--output FILE]

``--dominant``: the developers' pool plus gemini-1.5-pro-002 from ``generators/`` as a 13th member.

For each way of estimating who is right on the train split, the models are ranked by their estimated accuracy,
and each subject is then routed to the candidate (among the K best-ranked) whose estimated accuracy in that
subject is highest; reported is that routing's test top-1 (true test keys, reporting only).

- ``labels``: the train split's true keys, the ceiling a label-free estimate could reach with this rule;
- ``estimate``: the product's truth estimate (``rgd.truth.estimate_truth`` with subjects, no key);
- ``leave_one_out``: the same fit, each model then judged by the posterior of the other models' votes only
  (its own vote's factor removed), to see whether a model's agreement with itself is the bias.

And the top-3 vote of every ranked trio of the pool (the evaluation's vote, ``rgd.evaluation.metrics.top3_vote``;
the first-ranked model wins a three-way disagreement): the best on the train split and the best on the test
split itself (the ceiling of any one ranking's top-3), and each subject's best trio of the six most accurate
models chosen with the true train keys.
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
from rgd.evaluation.metrics import top3_vote  # noqa: E402
from rgd.workflow.curate import build_consensus  # noqa: E402


def leave_one_out_scores(table, est) -> np.ndarray:
    """(M, Q) each model's P(right) under the posterior of every other voter, with the fitted voter models."""
    confidence = table.confidence if table.has_confidence else None
    m_count, q_count = table.choices.shape
    out = np.zeros((m_count, q_count))
    for m in range(m_count):
        choices = table.choices.copy()
        choices[m] = -1  # an unanswered vote adds nothing to the posterior
        posterior = truth.posterior_given(est, choices, table.n_options, confidence, subjects=table.subjects)
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


def _led_trios(models):
    """Every trio of ``models`` with each of its members first: the first-ranked model wins a three-way
    disagreement when the pool has no confidences (z = 0), so the order matters."""
    import itertools

    for trio in itertools.combinations(models, 3):
        for lead in trio:
            yield (lead, *[m for m in trio if m != lead])


def _vote_right(trio, table, z) -> np.ndarray:
    rest = tuple(i for i in range(table.n_models) if i not in trio)
    return top3_vote(np.tile(np.array(trio + rest), (table.n_questions, 1)), table, z) == table.answers


def fixed_trios(train, test) -> dict:
    """The best ranked trio of the pool by its top-3 vote on the train split and on the test split, and each
    subject's best trio of the six most accurate models chosen with the true train keys."""
    scorer, _ = build_consensus(train)  # the scorer evaluate-recorded ranks ties with (its z-scores)
    z = {"train": scorer.zscores(train), "test": scorer.zscores(test)}
    out = []
    for trio in _led_trios(range(train.n_models)):
        out.append(([float(_vote_right(trio, t, z[n]).mean()) for n, t in (("train", train), ("test", test))],
                    [train.models[i] for i in trio]))
    top6 = np.argsort(-train.correct().mean(axis=1), kind="stable")[:6].tolist()
    right = {t: (_vote_right(t, train, z["train"]), _vote_right(t, test, z["test"])) for t in _led_trios(top6)}
    per_subject = 0
    for subject in np.unique(train.subjects):
        in_train, in_test = train.subjects == subject, test.subjects == subject
        best = max(right, key=lambda t: right[t][0][in_train].mean())
        per_subject += int(right[best][1][in_test].sum())
    best_train = max(out, key=lambda x: x[0][0])
    best_test = max(out, key=lambda x: x[0][1])
    return {"best_on_train": {"models": best_train[1], "train": round(best_train[0][0], 4),
                              "test": round(best_train[0][1], 4)},
            "best_on_test": {"models": best_test[1], "test": round(best_test[0][1], 4)},
            "per_subject_with_labels": {"test": round(per_subject / test.n_questions, 4)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--dominant", action="store_true")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args()
    if args.dominant:
        import tempfile

        from benchmarks.default_router import dominant_pool

        with tempfile.TemporaryDirectory() as tmp:
            data = load_recorded(dominant_pool(args.data, Path(tmp) / "dominant"))
    else:
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
    result["fixed_trios"] = fixed_trios(train, test)
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
