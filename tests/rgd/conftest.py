"""Fixtures for the core library: a small synthetic recorded pool with a known structure."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from rgd.data.schema import LETTERS
from tests.paths import SHARED_MMLU

needs_mmlu = pytest.mark.skipif(
    not (SHARED_MMLU / "questions.jsonl.gz").exists(),
    reason=f"real MMLU-Pro recorded data not found at {SHARED_MMLU} (the ../shared checkout is absent)",
)

TOPICS = {
    "astronomy": ["orbit", "planet", "telescope", "galaxy", "comet", "nebula", "star", "lunar"],
    "cooking": ["recipe", "oven", "flour", "simmer", "spice", "dough", "sauce", "bake"],
    "sailing": ["mast", "keel", "harbor", "tide", "anchor", "rudder", "hull", "wind"],
    "music": ["chord", "melody", "tempo", "violin", "rhythm", "harmony", "octave", "sonata"],
}


def synthetic_pool(n: int = 400, seed: int = 0):
    """Questions on 4 topics in 2 subjects; model ``i`` is the expert of topic ``i`` (right 90%), else 45%;
    wrong answers are a random other option.

    Returns (questions as dicts, answers per model {name: [pred]}, topic per question).
    """
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    subject_of = {"astronomy": "science", "sailing": "science", "cooking": "arts", "music": "arts"}
    models = [f"expert-{t}" for t in topics]
    rows, preds, topic_ids = [], {m: [] for m in models}, []
    for q in range(n):
        t = q % len(topics)
        words = rng.choice(TOPICS[topics[t]], size=6)
        text = f"Question {q} about {topics[t]}: " + " ".join(words) + "?"
        n_opt = 4
        key = int(rng.integers(n_opt))
        rows.append(
            {
                "question_id": q,
                "category": subject_of[topics[t]],
                "question": text,
                "options": [f"option {k}" for k in range(n_opt)],
                "answer": LETTERS[key],
            }
        )
        topic_ids.append(t)
        for i, m in enumerate(models):
            p = 0.9 if i == t else 0.45
            wrong = (key + int(rng.integers(1, n_opt))) % n_opt
            preds[m].append(LETTERS[key] if rng.random() < p else LETTERS[wrong])
    return rows, preds, np.array(topic_ids)


def write_recorded(directory: Path, rows, preds, train_ids=None, test_ids=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "responses").mkdir(exist_ok=True)
    with gzip.open(directory / "questions.jsonl.gz", "wt") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    for model, answers in preds.items():
        with gzip.open(directory / "responses" / f"{model}.jsonl.gz", "wt") as fh:
            for r, p in zip(rows, answers):
                fh.write(json.dumps({"question_id": r["question_id"], "pred": p}) + "\n")
    ids = [r["question_id"] for r in rows]
    if train_ids is None:
        cut = int(len(ids) * 0.7)
        train_ids, test_ids = ids[:cut], ids[cut:]
    (directory / "split.json").write_text(json.dumps({"train": train_ids, "test": test_ids}))
    return directory


def specialist_pool(directory: Path, n: int = 1200, seed: int = 0) -> Path:
    """A generalist right on 70% of both subjects, a mathematician right on 95% of math and 30% of law, three
    weak models: the router routes locally (math to the mathematician) on a settled pool-wide leader."""
    rng = np.random.default_rng(seed)
    accuracy = {"generalist": (0.7, 0.7), "mathematician": (0.95, 0.3), "w1": (0.4, 0.4), "w2": (0.4, 0.4),
                "w3": (0.4, 0.4)}
    words = {"math": "integral derivative equation algebra", "law": "contract statute court liability"}
    rows, preds = [], {m: [] for m in accuracy}
    for q in range(n):
        subject = ("law", "math")[q % 2]
        key = int(rng.integers(5))
        rows.append({"question_id": q, "category": subject, "question": f"{words[subject]} question {q}",
                     "options": [f"o{k}" for k in range(5)], "answer": LETTERS[key]})
        for m, (p_math, p_law) in accuracy.items():
            right = rng.random() < (p_math if subject == "math" else p_law)
            preds[m].append(LETTERS[key if right else (key + 1 + int(rng.integers(4))) % 5])
    return write_recorded(directory, rows, preds)


@pytest.fixture
def recorded_dir(tmp_path: Path) -> Path:
    rows, preds, _ = synthetic_pool()
    return write_recorded(tmp_path / "pool", rows, preds)
