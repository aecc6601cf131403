import gzip
import json

import numpy as np
import pytest

from rgd.data.recorded import load_recorded
from rgd.errors import DataError
from tests.rgd.conftest import SHARED_MMLU, needs_mmlu, synthetic_pool, write_recorded


def _rewrite(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def test_loads_synthetic_pool(recorded_dir):
    data = load_recorded(recorded_dir)
    assert data.table.n_models == 4 and data.table.n_questions == 400
    assert len(data.train_ids) == 280 and len(data.test_ids) == 120
    _, train = data.part("train")
    assert train.n_questions == 280 and train.has_answers


def test_missing_rows_and_null_answers_are_no_answer(tmp_path):
    rows, preds, _ = synthetic_pool(40)
    d = write_recorded(tmp_path / "p", rows, preds)
    path = d / "responses" / "expert-music.jsonl.gz"
    lines = [json.dumps({"question_id": r["question_id"], "pred": None if i == 3 else "A"}) for i, r in enumerate(rows)]
    _rewrite(path, lines[:-5])  # the last 5 questions were never answered by this model
    data = load_recorded(d)
    m = data.table.models.index("expert-music")
    assert data.table.choices[m, 3] == -1
    assert (data.table.choices[m, -5:] == -1).all()
    assert (data.table.choices[m, :3] == 0).all()


def test_a_model_that_answers_no_train_question_is_named_in_a_warning(tmp_path, caplog):
    rows, preds, _ = synthetic_pool(40)
    cut = int(len(rows) * 0.7)  # write_recorded's train split: the first 70%
    preds["expert-music"] = [None] * cut + preds["expert-music"][cut:]  # test answers only
    with caplog.at_level("WARNING", logger="rgd.data.recorded"):
        data = load_recorded(write_recorded(tmp_path / "p", rows, preds))
    warned = [r.getMessage() for r in caplog.records if "answers none of the train split" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("expert-music ")
    assert (data.part("test")[1].choices[data.table.models.index("expert-music")] >= 0).any()


def test_letter_beyond_options_is_a_wrong_answer(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    preds["expert-music"][0] = "H"  # the question has 4 options
    data = load_recorded(write_recorded(tmp_path / "p", rows, preds))
    assert data.table.choices[data.table.models.index("expert-music"), 0] == -1


def test_malformed_json_names_file_and_row(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    d = write_recorded(tmp_path / "p", rows, preds)
    path = d / "responses" / "expert-cooking.jsonl.gz"
    lines = gzip.open(path, "rt").read().splitlines()
    lines[6] = '{"question_id": 6, "pred": '
    _rewrite(path, lines)
    with pytest.raises(DataError, match=r"expert-cooking\.jsonl\.gz, row 7: malformed JSON"):
        load_recorded(d)


def test_unknown_option_letter_names_file_and_row(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    preds["expert-sailing"][4] = "maybe"
    d = write_recorded(tmp_path / "p", rows, preds)
    with pytest.raises(DataError, match=r"expert-sailing\.jsonl\.gz, row 5: unknown option letter 'maybe'"):
        load_recorded(d)


def test_bad_answer_key_in_questions_names_row(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    rows[2]["answer"] = "Q"
    d = write_recorded(tmp_path / "p", rows, preds)
    with pytest.raises(DataError, match=r"questions\.jsonl\.gz, row 3: invalid .*answer 'Q' is outside the 4 options"):
        load_recorded(d)


def test_split_naming_unknown_ids(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    d = write_recorded(tmp_path / "p", rows, preds, train_ids=[0, 1, 2, 999], test_ids=[3, 4])
    with pytest.raises(DataError, match=r"split\.json: 'train' names 1 question ids .*'999'"):
        load_recorded(d)


@pytest.mark.parametrize("train, test", [([0, 1, 2, 1], [3, 4]), ([0, 1, 2], [3, 4, 4])])
def test_split_repeating_an_id_names_the_split_file(tmp_path, train, test):
    rows, preds, _ = synthetic_pool(20)
    d = write_recorded(tmp_path / "p", rows, preds, train_ids=train, test_ids=test)
    with pytest.raises(DataError, match=r"split\.json: '(train|test)' repeats 1 question ids \(first: \['[14]'\]\)"):
        load_recorded(d)


def test_responses_file_without_rows(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    d = write_recorded(tmp_path / "p", rows, preds)
    _rewrite(d / "responses" / "expert-music.jsonl.gz", [])
    with pytest.raises(DataError, match=r"expert-music\.jsonl\.gz: responses file has no rows"):
        load_recorded(d)


def test_answer_to_unknown_question(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    d = write_recorded(tmp_path / "p", rows, preds)
    path = d / "responses" / "expert-music.jsonl.gz"
    lines = gzip.open(path, "rt").read().splitlines() + [json.dumps({"question_id": 12345, "pred": "A"})]
    _rewrite(path, lines)
    with pytest.raises(DataError, match=r"row 21: answer to unknown question_id '12345'"):
        load_recorded(d)


def test_plain_jsonl_files_work_too(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    d = tmp_path / "plain"
    (d / "responses").mkdir(parents=True)
    (d / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for m, ans in preds.items():
        (d / "responses" / f"{m}.jsonl").write_text(
            "".join(json.dumps({"question_id": r["question_id"], "pred": a, "confidence": -0.5}) + "\n" for r, a in zip(rows, ans))
        )
    (d / "split.json").write_text(json.dumps({"train": list(range(14)), "test": list(range(14, 20))}))
    data = load_recorded(d)
    assert data.table.has_confidence and np.allclose(data.table.confidence, -0.5)


@needs_mmlu
def test_real_mmlu_pro_pool():
    data = load_recorded(SHARED_MMLU)
    assert data.table.n_models == 12 and data.table.n_questions == 12032
    assert (len(data.train_ids), len(data.test_ids)) == (8423, 3609)
    _, test = data.part("test")
    acc = dict(zip(test.models, test.accuracy()))
    assert abs(acc["Meta-Llama-3-70B"] - 0.532) < 0.001  # the best single model on this split
    assert not data.table.has_confidence  # no log-probabilities were published
