"""``rgd check``: settle the label-free choice of a recorded pool's best model with a few labels the user gives.

Two calls, the user in between: :func:`ask` estimates who is right on the train split with the product's
estimator (no key read), reports whether the top model is identifiable (:func:`rgd.truth.identifiability`) and
writes at most ``n`` questions, chosen where the candidates answer differently (:mod:`rgd.few_labels`), as a CSV
with an empty ``key`` column; :func:`settle` reads the filled-in file (CSV or JSONL: ``question_id``, ``key``)
and names the candidate the labels favour.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from rgd import few_labels
from rgd.data.recorded import RecordedDataset, load_recorded
from rgd.data.response_table import ResponseTable
from rgd.data.schema import index_to_letter, letter_to_index
from rgd.data.versioned_json import atomic_file
from rgd.errors import DataError, ParameterError
from rgd.routers.truth_cluster import TruthClusterRouter

LABEL_COLUMNS = ("question_id", "key")


def _estimate(table: ResponseTable) -> tuple[np.ndarray, Any]:
    """The estimated accuracies (keys hidden) and the identifiability of the top model, as the product router
    estimates them (its defaults, voter abilities per subject, no generator key)."""
    est = TruthClusterRouter().estimate_votes(table, None, table.subjects)
    return est.accuracy[: est.n_pool], est.params["identifiability"]


def _train(data: RecordedDataset | str | Path) -> tuple[RecordedDataset, list, ResponseTable]:
    ds = data if isinstance(data, RecordedDataset) else load_recorded(data)
    questions, table = ds.part("train")
    return ds, questions, table.with_answers(np.full(table.n_questions, -1))  # the keys stay hidden


def ask(data: RecordedDataset | str | Path, output: Path, n: int = few_labels.DEFAULT_QUESTIONS,
        seed: int = 0) -> dict[str, Any]:
    """Write the questions to label to ``output`` (CSV); the report says who competes and why."""
    _, questions, table = _train(data)
    acc, ident = _estimate(table)
    competing = np.array(ident.contenders)
    asked = few_labels.questions_to_ask(table.choices, competing, n, seed)
    names = [table.models[i] for i in competing]
    with atomic_file(output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*LABEL_COLUMNS, "subject", "question", "options", *(f"answer_of:{m}" for m in names)])
        for q in asked:
            qu = questions[q]
            opts = " | ".join(f"{index_to_letter(i)}. {o}" for i, o in enumerate(qu.options))
            picks = [index_to_letter(int(c)) if c >= 0 else "" for c in table.choices[competing, q]]
            w.writerow([qu.id, "", qu.subject, qu.text, opts, *picks])
    return {"identifiability": {**ident.to_dict(table.models), "sentence": ident.sentence(table.models)},
            "candidates": names, "n_asked": int(len(asked)), "questions_file": str(output),
            "estimated_accuracy": {m: round(float(a), 4) for m, a in zip(table.models, acc)}}


def read_labels(path: Path) -> dict[str, str]:
    """{question id: key letter} from a CSV (header with question_id, key) or JSONL file; empty keys skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the labels file ({exc.strerror})", path=path) from None
    except UnicodeDecodeError:
        raise DataError("the labels file is not UTF-8 text", path=path) from None
    rows: list[tuple[int, dict]] = []
    if path.suffix == ".jsonl":
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"not JSON ({exc.msg})", path=path, row=i) from None
                if not isinstance(obj, dict):
                    raise DataError("each row must be an object with question_id and key", path=path, row=i)
                rows.append((i, obj))
    else:
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"the CSV header must name {list(LABEL_COLUMNS)}; missing {missing}", path=path)
        rows = [(i, r) for i, r in enumerate(reader, 2)]
    labels: dict[str, str] = {}
    for i, r in rows:
        qid, key = str(r.get("question_id", "")).strip(), r.get("key")
        key = "" if key is None else str(key).strip()
        if not qid:
            raise DataError("a row without question_id", path=path, row=i)
        if not key:
            continue
        try:
            letter_to_index(key)
        except ParameterError:
            raise DataError(f"key {key!r} of question {qid!r} is not an option letter", path=path, row=i) from None
        if qid in labels and labels[qid] != key.upper():
            raise DataError(f"question {qid!r} has two different keys", path=path, row=i)
        labels[qid] = key.upper()
    return labels


def settle(data: RecordedDataset | str | Path, labels_path: Path) -> dict[str, Any]:
    """Re-decide the pool's best model with the user's keys; the report says whether the labels changed it."""
    _, _, table = _train(data)
    labels = read_labels(labels_path)
    if not labels:
        raise DataError("no key is filled in; write each question's key letter in the key column", path=labels_path)
    known = set(table.question_ids)
    unknown = [q for q in labels if q not in known]
    if unknown:
        raise DataError(f"{len(unknown)} labelled questions are not in the train split (first: {unknown[:3]})",
                        path=labels_path)
    cols = table.positions(labels)
    keys = np.array([letter_to_index(k) for k in labels.values()])
    bad = keys >= table.n_options[cols]
    if bad.any():
        qid = list(labels)[int(np.flatnonzero(bad)[0])]
        raise DataError(f"the key of question {qid!r} names an option it does not have", path=labels_path)
    acc, ident = _estimate(table)
    competing = np.array(ident.contenders)
    decision = few_labels.decide(table.choices, competing, cols, keys, settled=ident.identifiable)
    leader, before = table.models[decision.leader], table.models[decision.label_free_leader]
    favoured = table.models[decision.favoured]
    if decision.changed:
        verdict = f"The labels change the top model: {leader} (was {before}; sign test p = {decision.p_value:.3f})"
    elif favoured != leader:
        verdict = (f"The labels lean to {favoured}, but not beyond chance (sign test p = {decision.p_value:.3f}, "
                   f"needs < {few_labels.SIGNIFICANCE}): the top model stays {leader}; label more questions to "
                   f"settle it")
    else:
        verdict = f"The labels confirm the top model: {leader}"
    return {"leader": leader, "label_free_leader": before, "changed": decision.changed,
            "favoured_by_labels": favoured, "p_value": round(decision.p_value, 4), "n_labels": decision.n_labels,
            "right_on_labels": {table.models[m]: k for m, k in decision.correct.items()},
            "identifiability_without_labels": ident.to_dict(table.models), "sentence": verdict}
