"""OpenAICompatibleBackend against a real llama.cpp server (xllamacpp) on loopback, with a real GGUF model."""

from __future__ import annotations

import math

from rgd.data.schema import LETTERS, Question
from rgd.llm.backends.base import SamplingConfig
from rgd.llm.backends.openai_compat import OpenAICompatibleBackend

QUESTIONS = [
    Question(id="arith", subject="math", text="What is 2 + 2?", options=["3", "4", "5", "22"]),
    Question(id="capital", subject="geography", text="What is the capital of France?", options=["Berlin", "Madrid", "Paris"]),
    Question(
        id="organ",
        subject="biology",
        text="Which organ pumps blood through the body?",
        options=["Heart", "Liver", "Lung", "Kidney", "Skin"],
    ),
]


def test_real_server_answers_questions(llamacpp_base_url):
    backend = OpenAICompatibleBackend(
        "gemma-3-270m", llamacpp_base_url, api_key_env=None, max_concurrency=2, timeout_s=120, max_retries=1
    )
    responses = backend.answer(QUESTIONS, SamplingConfig(temperature=0.0, max_tokens=48, seed=0))
    assert [r.question_id for r in responses] == [q.id for q in QUESTIONS]
    for q, r in zip(QUESTIONS, responses):
        assert r.model == "gemma-3-270m"
        assert isinstance(r.raw_text, str) and r.raw_text.strip()
        assert r.confidence is not None and math.isfinite(r.confidence) and r.confidence < 0
        assert r.choice is None or r.choice in LETTERS[: len(q.options)]


def test_real_server_keeps_prompt_order(llamacpp_base_url):
    """Counting prompts whose continuations differ: each reply continues its own prompt (greedy decoding)."""
    backend = OpenAICompatibleBackend(
        "gemma-3-270m", llamacpp_base_url, api_key_env=None, max_concurrency=2, timeout_s=120, use_chat=False
    )
    starts = [1, 41, 300, 7000, 25, 88]
    prompts = [" ".join(str(s + i) for i in range(6)) + " " for s in starts]
    gens = backend.generate(prompts, SamplingConfig(temperature=0.0, max_tokens=6))
    assert len(gens) == len(prompts)
    for start, gen in zip(starts, gens):
        assert gen.text.startswith(str(start + 6)), (start, gen.text)
        assert gen.mean_logprob is not None and math.isfinite(gen.mean_logprob) and gen.mean_logprob < 0
