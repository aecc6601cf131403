"""The stratified, seeded train/test split."""

import json
from collections import Counter

import pytest

from rgd.data.benchmarks import split_record, stratified_split, write_split
from rgd.data.schema import Question


def make(n_per_subject):
    return [Question(id=f"{s}-{i}", subject=s, text="t", options=["a", "b"], answer="A")
            for s, n in n_per_subject.items() for i in range(n)]


def test_each_subject_is_split_in_proportion():
    questions = make({"a": 100, "b": 40, "c": 10})
    train, test = stratified_split(questions, 0.7, seed=1)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 150
    per = Counter(i.split("-")[0] for i in train)
    assert per == {"a": 70, "b": 28, "c": 7}


def test_seeded_and_deterministic():
    questions = make({"a": 50, "b": 50})
    assert stratified_split(questions, 0.5, 7) == stratified_split(questions, 0.5, 7)
    assert stratified_split(questions, 0.5, 7) != stratified_split(questions, 0.5, 8)


def test_small_subjects_land_in_both_parts_and_order_is_kept():
    questions = make({"tiny": 2, "one": 1, "big": 9})
    train, test = stratified_split(questions, 0.9, seed=0)
    assert Counter(i.split("-")[0] for i in train)["tiny"] == 1
    assert Counter(i.split("-")[0] for i in test)["tiny"] == 1
    order = [q.id for q in questions]
    assert train == sorted(train, key=order.index) and test == sorted(test, key=order.index)


def test_written_split_json(tmp_path):
    questions = make({"a": 10})
    record = write_split(tmp_path / "out" / "split.json", questions, 0.8, seed=4)
    on_disk = json.loads((tmp_path / "out" / "split.json").read_text())
    assert on_disk == record == split_record(record["train"], record["test"], 0.8, 4)
    assert on_disk["stratified_by"] == "subject" and len(on_disk["train"]) == 8


def test_bad_arguments():
    with pytest.raises(ValueError, match="train_fraction"):
        stratified_split(make({"a": 3}), 1.0)
    dup = make({"a": 2}) * 2
    with pytest.raises(ValueError, match="unique"):
        stratified_split(dup)
