"""configs/openai_compatible.yaml on a real llama.cpp server on loopback (issue 13, class 12): the shipped
config, pointed at the server and bounded to a few questions, generates (or stops in generation with the
parse errors and a sample of the output), and the pool answers the test questions resumably."""

from __future__ import annotations

import json

import pytest

from rgd.config.run_config import load_run_config, parse_run_config
from rgd.data.schema import LETTERS
from rgd.errors import DataError
from rgd.workflow.generate import generate_stage, load_test_set
from rgd.workflow.respond import respond_stage
from tests.paths import REPO_ROOT

SUBJECTS = """benchmark: tiny
n_options: 4
subjects:
  - {name: geography, description: "Capitals and countries of the world."}
  - {name: arithmetic, description: "Adding and multiplying small whole numbers."}
"""
TEST_QUESTIONS = [
    {"question_id": "t1", "category": "arithmetic", "question": "What is 2 + 2?", "options": ["3", "4", "5", "22"],
     "answer": "B"},
    {"question_id": "t2", "category": "geography", "question": "What is the capital of France?",
     "options": ["Berlin", "Madrid", "Paris", "Rome"], "answer": "C"},
    {"question_id": "t3", "category": "arithmetic", "question": "What is 3 x 3?", "options": ["9", "6", "33", "12"],
     "answer": "A"},
]


@pytest.fixture
def bounded_config(tmp_path, llamacpp_base_url, monkeypatch):
    monkeypatch.setenv("RGD_HOME", str(tmp_path / "home"))
    shipped = load_run_config(REPO_ROOT / "configs" / "openai_compatible.yaml")
    data = shipped.model_dump(exclude_none=True)
    (tmp_path / "subjects.yaml").write_text(SUBJECTS)
    test_dir = tmp_path / "test_set"
    test_dir.mkdir()
    (test_dir / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in TEST_QUESTIONS))
    (test_dir / "split.json").write_text(json.dumps({"train": ["t1"], "test": ["t2", "t3"]}))
    transport = {"base_url": llamacpp_base_url, "api_key_env": None, "timeout_s": 120, "max_retries": 1}
    data["generators"][0]["params"].update(transport)
    data["pool"]["params"].update(transport)
    data["generation"].update(subjects=str(tmp_path / "subjects.yaml"), n_per_subject=1, questions_per_call=1,
                              max_calls=2, max_tokens=160, self_answer_max_tokens=48, abort_after_empty_calls=2)
    data["respond"].update(max_tokens=48)
    data["test_set"] = {"dir": str(test_dir), "split": "test"}
    return parse_run_config(data)


def test_shipped_openai_config_runs_bounded_on_llamacpp(bounded_config):
    config = bounded_config
    try:
        generated, self_answers = generate_stage(config, progress=False)
    except DataError as exc:  # the tiny model wrote nothing usable: generation stops and shows why
        assert "sample of its output" in str(exc) and "unusable blocks by reason" in str(exc)
        generated, self_answers = None, None
    else:
        assert len(generated) >= 1 and self_answers is not None
        assert self_answers.n_questions == len(generated)
    test = load_test_set(config)
    assert [q.id for q in test.questions] == ["t2", "t3"]
    from rgd.workflow.artifacts import QuestionSet

    generated = generated or QuestionSet((), (), "generated")
    model = config.pool.models[0].name
    _, test_table, info = respond_stage(config, model, generated, test, progress=False)
    assert info["answered_now"] == len(generated) + 2 and test_table.n_questions == 2
    assert set(test_table.choices.ravel().tolist()) <= set(range(-1, len(LETTERS)))
    _, again, info = respond_stage(config, model, generated, test, progress=False)
    assert info["answered_now"] == 0 and (again.choices == test_table.choices).all()
