"""An LLM generator's token budgets come from the run config (issue 13, class 12): ``generation.max_tokens``
for each generation call and ``generation.self_answer_max_tokens`` for each re-answer reach the backend, in
place of the lengths that were fixed in code."""

from __future__ import annotations

import pytest
import yaml

import rgd.llm.backends as backends
from rgd.config.run_config import parse_run_config
from rgd.generation import load_subjects, read_generation_request
from rgd.llm.backends.base import Generation
from rgd.workflow.generate import generate_stage
from tests.rgd.generation.test_generate_questions import ScriptedGenerator


class RecordingGenerator(ScriptedGenerator):
    """Writes questions for generation prompts and answers (A) to anything else (the re-answers)."""

    def generate(self, prompts, sampling=None):
        if read_generation_request(prompts[0]) is None:  # not a generation request: a re-answer
            self.batches.append((["re-answer"] * len(prompts), sampling))
            return [Generation("The answer is (A).") for _ in prompts]
        return super().generate(prompts, sampling)


@pytest.mark.parametrize("lengths, expected", [
    ({"max_tokens": 777, "self_answer_max_tokens": 333}, (777, 333)),
    ({}, (None, 1024)),  # defaults: the generation's from the questions per call, re-answers 1024
])
def test_generation_and_re_answer_lengths_reach_the_backend(tmp_path, monkeypatch, lengths, expected):
    monkeypatch.setenv("RGD_HOME", str(tmp_path))
    backend = RecordingGenerator()
    monkeypatch.setattr(backends, "make_backend", lambda kind, **params: backend)
    subjects = tmp_path / "subjects.yaml"
    subjects.write_text(yaml.safe_dump(load_subjects("mmlu_pro").select(["biology", "law"]).model_dump(mode="json")))
    config = parse_run_config({
        "benchmark": "mmlu_pro", "test_set": None,
        "generators": [{"kind": "openai", "model": "acme/gen-1", "params": {"base_url": "http://127.0.0.1:9/v1"}}],
        "pool": {"kind": "openai", "models": ["m-a", "m-b"], "params": {"base_url": "http://127.0.0.1:9/v1"}},
        "generation": {"subjects": str(subjects), "n_per_subject": 2, "questions_per_call": 2,
                       "self_answer_samples": 1, **lengths},
    })
    questions, self_answers = generate_stage(config)
    assert len(questions.questions) == 4 and self_answers is not None
    generation = {s.max_tokens for subjects, s in backend.batches if subjects[0] != "re-answer"}
    re_answer = {s.max_tokens for subjects, s in backend.batches if subjects[0] == "re-answer"}
    want_generation, want_re_answer = expected
    assert re_answer == {want_re_answer}
    if want_generation is not None:
        assert generation == {want_generation}
    else:
        assert len(generation) == 1 and generation != {777}
