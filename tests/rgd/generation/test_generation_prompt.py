"""The generation prompt."""

import pytest

from rgd.data.subjects import load_subjects
from rgd.generation.prompt import PROMPT_VERSION, build_generation_prompt, read_generation_request


def test_prompt_carries_subject_count_options_and_format():
    spec = load_subjects("medmcqa").get("Pharmacology")
    prompt = build_generation_prompt(spec, 5, variant=2)
    assert spec.description in prompt
    assert "graduate-level" in prompt and "multiple-choice" in prompt
    assert "Write 5 new multiple-choice questions" in prompt
    assert "labelled A to D" in prompt and "D) option text" in prompt and "E) option text" not in prompt
    for tag in ("<question>", "<text>", "<options>", "<answer>", "</question>"):
        assert tag in prompt
    assert PROMPT_VERSION.startswith("rgd-gen-v")


def test_header_reads_back():
    spec = load_subjects("mmlu_pro").get("computer science")
    request = read_generation_request(build_generation_prompt(spec, 3, variant=7))
    assert (request.subject, request.n_questions, request.n_options, request.variant) == ("computer science", 3, 10, 7)
    assert read_generation_request("Answer the question: ...") is None


def test_variants_differ_and_bad_counts_fail():
    spec = load_subjects("bbeh").get("nycc")
    assert build_generation_prompt(spec, 2, 0) != build_generation_prompt(spec, 2, 1)
    with pytest.raises(ValueError):
        build_generation_prompt(spec, 0)
