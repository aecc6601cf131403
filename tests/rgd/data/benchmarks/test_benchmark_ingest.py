"""Benchmark ingestion from local JSON / JSONL / Parquet files (and the hub path, offline)."""

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rgd.data.benchmarks import load_benchmark, stratified_split, write_questions, write_split
from rgd.data.benchmarks.bbeh import split_lettered_options
from rgd.data.jsonl import write_jsonl
from rgd.data.recorded import load_recorded
from rgd.errors import DataError
from rgd.generation import load_subjects
from tests.paths import SHARED_MMLU as MMLU_PRO

MMLU_ROWS = [
    {"question_id": 70, "question": "Which organelle makes ATP?", "options": ["nucleus", "mitochondrion", "ribosome"],
     "answer": "B", "answer_index": 1, "category": "biology", "src": "ori_mmlu-college_biology"},
    {"question_id": 71, "question": "2 + 2 = ?", "options": ["3", "4", "5", "6"], "answer_index": 1, "category": "math"},
]
SUPERGPQA_ROWS = [
    {"uuid": "u1", "question": "Which soil order is richest in organic matter?", "options": ["Histosols", "Aridisols", "Oxisols"],
     "answer": "Histosols", "answer_letter": "A", "discipline": "Agronomy", "field": "Soil science", "difficulty": "hard"},
    {"uuid": "u2", "question": "Which court hears appeals?", "options": ["trial", "appellate"], "answer": "appellate",
     "discipline": "Law"},
]
MEDMCQA_ROWS = [
    {"id": "m1", "question": "Drug of choice for absence seizures?", "opa": "Ethosuximide", "opb": "Phenytoin",
     "opc": "Carbamazepine", "opd": "Gabapentin", "cop": 0, "subject_name": "Pharmacology", "topic_name": "CNS"},
    {"id": "m2", "question": "Largest salivary gland?", "opa": "Parotid", "opb": "Sublingual", "opc": "Submandibular",
     "opd": "Minor", "cop": 3, "subject_name": "Anatomy"},
    {"id": "m3", "question": "Unlabelled test row", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": -1,
     "subject_name": "Surgery"},
]
BBEH_ROWS = [
    {"task": "hyperbaton", "input": "Which sentence has the right adjective order?\nOptions:\n(A) big red ball\n(B) red big ball",
     "target": "(A)", "mini": True},
    {"task": "geometric shapes", "input": "This SVG path draws: M 0 0 L 1 1 Options: (A) line (B) circle (C) kite",
     "target": "(A)"},
    {"task": "boardgame qa", "input": "Rules... Does the cat win?", "target": "disproved"},
    {"task": "causal understanding", "input": "Did the spark cause the fire?", "target": "yes"},
    {"task": "multistep arithmetic", "input": "Compute ((3 + 4) * 2)", "target": "14"},
    {"task": "hyperbaton", "input": "Free-form variant without options", "target": "(A)"},
    {"task": "boardgame qa", "input": "Another theory", "target": "maybe"},
    {"task": "hyperbaton", "input": "Pick one:\n(A) x\n(B) y", "target": "(D)"},
]


def write(tmp_path, rows, fmt):
    if fmt == "jsonl":
        path = tmp_path / "rows.jsonl"
        write_jsonl(path, rows)
    elif fmt == "jsonl.gz":
        path = tmp_path / "rows.jsonl.gz"
        write_jsonl(path, rows)
    elif fmt == "json":
        path = tmp_path / "rows.json"
        path.write_text(json.dumps({"data": rows}))
    else:
        path = tmp_path / "rows.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "json", "parquet"])
def test_mmlu_pro_from_every_file_type(tmp_path, fmt):
    questions, report = load_benchmark("mmlu_pro", write(tmp_path, MMLU_ROWS, fmt))
    assert [(q.id, q.subject, q.answer, len(q.options)) for q in questions] == [
        ("70", "biology", "B", 3), ("71", "math", "B", 4)]
    assert questions[0].options == ["nucleus", "mitochondrion", "ribosome"]
    assert questions[0].provenance.kind == "benchmark" and questions[0].provenance.source == "mmlu_pro"
    assert report.rows == report.kept == 2 and report.per_subject == {"biology": 1, "math": 1}


def test_supergpqa_mapping(tmp_path):
    questions, _ = load_benchmark("supergpqa", write(tmp_path, SUPERGPQA_ROWS, "parquet"))
    assert [(q.id, q.subject, q.answer) for q in questions] == [("u1", "Agronomy", "A"), ("u2", "Law", "B")]


def test_medmcqa_mapping_and_cop_base(tmp_path):
    path = write(tmp_path, MEDMCQA_ROWS, "json")
    questions, _ = load_benchmark("medmcqa", path)
    assert [(q.subject, q.answer) for q in questions] == [("Pharmacology", "A"), ("Anatomy", "D"), ("Surgery", None)]
    assert questions[0].options == ["Ethosuximide", "Phenytoin", "Carbamazepine", "Gabapentin"]
    original = [dict(r, cop=r["cop"] + 1 if r["cop"] >= 0 else -1) for r in MEDMCQA_ROWS]  # the 1-based release
    questions, _ = load_benchmark("medmcqa", write(tmp_path, original, "jsonl"), cop_base=1)
    assert [q.answer for q in questions] == ["A", "D", None]
    with pytest.raises(DataError, match=r"row 2: cop=4 is outside the options for cop_base=0"):
        load_benchmark("medmcqa", tmp_path / "rows.jsonl")


def test_bbeh_keeps_closed_answer_tasks_and_counts_the_rest(tmp_path):
    questions, report = load_benchmark("bbeh", write(tmp_path, BBEH_ROWS, "jsonl"))
    by_id = {q.id: q for q in questions}
    assert list(by_id) == ["bbeh-hyperbaton-0", "bbeh-geometric_shapes-0", "bbeh-boardgame_qa-0", "bbeh-causal_understanding-0"]
    hyper = by_id["bbeh-hyperbaton-0"]
    assert hyper.text == "Which sentence has the right adjective order?"
    assert hyper.options == ["big red ball", "red big ball"] and hyper.answer == "A"
    shapes = by_id["bbeh-geometric_shapes-0"]
    assert shapes.options == ["line", "circle", "kite"] and shapes.text == "This SVG path draws: M 0 0 L 1 1"
    board = by_id["bbeh-boardgame_qa-0"]
    assert board.options == ["proved", "disproved", "unknown"] and board.answer == "B"
    assert by_id["bbeh-causal_understanding-0"].answer == "A"
    assert report.skipped == {"no_lettered_options": 1, "target_not_an_option": 2, "task_not_selected": 1}
    assert set(report.per_subject) <= set(load_subjects("bbeh").names)
    # a chosen task list replaces the nine defaults
    questions, report = load_benchmark("bbeh", tmp_path / "rows.jsonl", tasks=["boardgame qa"])
    assert [q.subject for q in questions] == ["boardgame qa"] and report.skipped["task_not_selected"] == 6


def test_lettered_option_splitting():
    assert split_lettered_options("Q\n(A) a\n(B) b (with a note)") == ("Q", ["a", "b (with a note)"])
    assert split_lettered_options("Q (A) only one") is None
    assert split_lettered_options("Q\n(A) a\n(C) c") is None
    assert split_lettered_options("no options here") is None


def test_bad_rows_name_the_file_and_row(tmp_path):
    rows = [MMLU_ROWS[0], {k: v for k, v in MMLU_ROWS[1].items() if k != "question"}]
    path = write(tmp_path, rows, "jsonl")
    with pytest.raises(DataError, match=r"rows.jsonl, row 2: missing field 'question'"):
        load_benchmark("mmlu_pro", path)
    write_jsonl(path, [MMLU_ROWS[0], MMLU_ROWS[0]])
    with pytest.raises(DataError, match="row 2: duplicate question id '70'"):
        load_benchmark("mmlu_pro", path)
    write_jsonl(path, [dict(MMLU_ROWS[0], answer="F")])
    with pytest.raises(DataError, match="row 1: invalid .*outside the 3 options"):
        load_benchmark("mmlu_pro", path)
    write_jsonl(path, [dict(MMLU_ROWS[0], options="not a list")])
    with pytest.raises(DataError, match="row 1: options must be a list"):
        load_benchmark("mmlu_pro", path)


def test_bad_files_and_names(tmp_path):
    with pytest.raises(DataError, match="unknown benchmark 'mmlu'"):
        load_benchmark("mmlu", tmp_path / "x.jsonl")
    with pytest.raises(DataError, match="no such file"):
        load_benchmark("mmlu_pro", tmp_path / "missing.jsonl")
    (tmp_path / "rows.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="unsupported file type"):
        load_benchmark("mmlu_pro", tmp_path / "rows.csv")
    (tmp_path / "rows.json").write_text("{broken")
    with pytest.raises(DataError, match="malformed JSON"):
        load_benchmark("mmlu_pro", tmp_path / "rows.json")
    (tmp_path / "rows.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read Parquet"):
        load_benchmark("mmlu_pro", tmp_path / "rows.parquet")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="no rows"):
        load_benchmark("mmlu_pro", tmp_path / "empty.jsonl")


def test_limit(tmp_path):
    questions, _ = load_benchmark("medmcqa", write(tmp_path, MEDMCQA_ROWS, "jsonl"), limit=2)
    assert len(questions) == 2


def test_hub_path_through_datasets_reads_a_local_dataset_directory(tmp_path):
    pytest.importorskip("datasets", reason="the optional 'benchmarks' extra (datasets) is not installed")
    data_dir = tmp_path / "medmcqa_mirror"
    (data_dir / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(MEDMCQA_ROWS), data_dir / "data" / "validation-00000.parquet")
    questions, report = load_benchmark("medmcqa", hub_path=str(data_dir), split="validation",
                                       cache_dir=str(tmp_path / "cache"))
    assert [q.answer for q in questions] == ["A", "D", None]
    assert report.source == f"hub:{data_dir}[validation]"


def test_hub_without_network_is_a_clear_error(tmp_path):
    pytest.importorskip("datasets", reason="the optional 'benchmarks' extra (datasets) is not installed")
    code = ("from rgd.data.benchmarks import load_benchmark\n"
            "try:\n    load_benchmark('supergpqa', cache_dir=%r)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n") % str(tmp_path)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    assert out.startswith("DataError cannot load 'm-a-p/SuperGPQA' split 'train' from the hub")


def test_ingested_questions_and_split_load_as_a_recorded_dataset(tmp_path):
    more = [dict(r, id=f"{r['id']}-{i}") for i in range(5) for r in MEDMCQA_ROWS[:2]]
    questions, _ = load_benchmark("medmcqa", write(tmp_path, more, "jsonl"))
    out = tmp_path / "recorded"
    write_questions(out / "questions.jsonl.gz", questions)
    record = write_split(out / "split.json", questions, train_fraction=0.6, seed=3)
    write_jsonl(out / "responses" / "some-model.jsonl", [{"question_id": q.id, "pred": "A"} for q in questions])
    write_jsonl(out / "responses" / "other-model.jsonl", [{"question_id": q.id, "pred": "B"} for q in questions])
    data = load_recorded(out, models=["some-model", "other-model"])
    assert list(data.train_ids) == record["train"] and list(data.test_ids) == record["test"]
    assert [q.id for q in data.questions] == [q.id for q in questions]
    assert [q.options for q in data.questions] == [q.options for q in questions]
    assert data.table.accuracy()[0] == pytest.approx(0.5)


def test_real_mmlu_pro_file():
    path = MMLU_PRO / "questions.jsonl.gz"
    if not path.exists():
        pytest.skip(f"real MMLU-Pro data absent ({path})")
    questions, report = load_benchmark("mmlu_pro", path)
    assert report.rows == report.kept == 12_032 and not report.skipped
    assert set(report.per_subject) == set(load_subjects("mmlu_pro").names)
    assert all(q.answer is not None for q in questions)
    # the same stratified 70/30 split sizes as the shipped split.json (seed 2026)
    shipped = json.loads((MMLU_PRO / "split.json").read_text())
    train, test = stratified_split(questions, shipped["train_fraction"], shipped["seed"])
    assert (len(train), len(test)) == (len(shipped["train"]), len(shipped["test"]))
