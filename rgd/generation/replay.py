"""A recorded generator: a benchmark split's questions replayed as if a generator had written them, each
with that generator's own recorded answer as its key.

In RGD a generated question's key is its generator's answer, so a model's recorded answers to a benchmark
(a responses-format file, ``null`` = no answer) are exactly the keys it would have written. Replaying them
runs the whole training pipeline on real questions and a real generator's real keys without a GPU: the
benchmark's true keys are dropped here and never travel further. A question the generator did not answer
is a question it did not write (dropped), like an unparseable block of a live generator.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from rgd.data.keys import NO_KEY, load_generator_keys
from rgd.data.recorded import load_split_parts
from rgd.data.schema import Provenance, Question, index_to_letter
from rgd.errors import DataError, ParameterError

#: provenance prompt version of replayed questions (no prompt was run)
REPLAY_PROMPT_VERSION = "recorded-replay"


def default_answers_file(directory: Path, model: str) -> Path:
    """``<dir>/generators/<model>.jsonl[.gz]``, else ``<dir>/responses/<model>.jsonl[.gz]``."""
    for sub in ("generators", "responses"):
        for suffix in (".jsonl.gz", ".jsonl"):
            path = directory / sub / f"{model}{suffix}"
            if path.is_file():
                return path
    raise DataError(f"no recorded answers of generator {model!r}: give params.answers, or put them in "
                    f"generators/{model}.jsonl.gz", path=directory)


def replay_generated(directory: str | Path, model: str, n_per_subject: int, seed: int,
                     answers: str | Path | None = None, split: str = "train") -> tuple[list[Question], dict]:
    """Up to ``n_per_subject`` questions per subject of ``split`` (a seeded sample, in split order) that
    ``model`` answered, keyed with its answer; and a report like a live generation's."""
    directory = Path(directory)
    if split not in ("train", "test"):
        raise ParameterError(f"a recorded generator replays split 'train' or 'test', got {split!r}")
    path = Path(answers) if answers is not None else default_answers_file(directory, model)
    parts = load_split_parts(directory)
    questions = parts[split]
    every_id = [q.id for part in parts.values() for q in part]
    n_options = np.array([len(q.options) for q in questions], dtype=np.int16)
    keys = load_generator_keys(path, [q.id for q in questions], n_options, every_id)

    rng = np.random.default_rng(int(hashlib.sha256(f"{model}:{seed}".encode()).hexdigest()[:8], 16))
    provenance = Provenance(kind="generated", source=model, prompt_version=REPLAY_PROMPT_VERSION, seed=seed)
    by_subject: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        if keys[i] != NO_KEY:
            by_subject.setdefault(q.subject, []).append(i)
    chosen: list[int] = []
    for rows in by_subject.values():
        take = rows if len(rows) <= n_per_subject else sorted(rng.choice(rows, n_per_subject, replace=False))
        chosen += [int(i) for i in take]
    chosen.sort()
    if not chosen:
        raise DataError(f"generator {model!r} answered none of the {len(questions)} {split} questions", path=path)
    out = [questions[i].model_copy(update={"answer": index_to_letter(int(keys[i])), "provenance": provenance})
           for i in chosen]
    per_subject = {s: sum(1 for q in out if q.subject == s) for s in by_subject}
    report = {"generator": model, "prompt_version": REPLAY_PROMPT_VERSION, "seed": seed,
              "n_per_subject": n_per_subject, "kept": len(out), "per_subject": per_subject,
              "unkeyed": int((keys == NO_KEY).sum()), "source": str(directory), "answers": str(path),
              "split": split,
              "shortfall": {s: n_per_subject - n for s, n in per_subject.items() if n < n_per_subject}}
    return out, report

