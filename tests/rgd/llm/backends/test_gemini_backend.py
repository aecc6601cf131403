"""Gemini backend with the SDK's own response types and a fake client: no network."""

from __future__ import annotations

import math
import threading

import pytest

types = pytest.importorskip("google.genai.types", reason="google-genai not installed (optional extra 'gemini')")
from google.genai import errors  # noqa: E402

from rgd.data.schema import Question  # noqa: E402
from rgd.llm.backends.base import SamplingConfig  # noqa: E402
from rgd.llm.backends.errors import BackendError  # noqa: E402
from rgd.llm.backends.gemini import GeminiBackend, response_generation  # noqa: E402


def make_response(text: str, token_logprobs=None, avg=None) -> types.GenerateContentResponse:
    logprobs = None
    if token_logprobs is not None:
        logprobs = types.LogprobsResult(
            chosen_candidates=[
                types.LogprobsResultCandidate(token=f"t{i}", log_probability=lp) for i, lp in enumerate(token_logprobs)
            ]
        )
    return types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(role="model", parts=[types.Part(text=text)]),
                avg_logprobs=avg,
                logprobs_result=logprobs,
                finish_reason=types.FinishReason.STOP,
            )
        ]
    )


class FakeModels:
    def __init__(self, script):
        self.script = script  # (call number, contents) -> response or exception
        self.calls: list[tuple[str, str, types.GenerateContentConfig]] = []
        self.lock = threading.Lock()

    def generate_content(self, *, model, contents, config):
        with self.lock:
            n = len(self.calls)
            self.calls.append((model, contents, config))
        out = self.script(n, contents)
        if isinstance(out, Exception):
            raise out
        return out


class FakeClient:
    def __init__(self, script):
        self.models = FakeModels(script)


def answer_for(contents: str) -> types.GenerateContentResponse:
    letter = contents.split("pick ", 1)[1][0]
    return make_response(f"Reasoning. The answer is ({letter}).", token_logprobs=[-0.2, -0.4, -0.6])


def test_response_generation_prefers_token_logprobs_then_avg():
    g = response_generation(make_response("hi", token_logprobs=[-1.0, -2.0], avg=-9.0))
    assert g.text == "hi" and math.isclose(g.mean_logprob, -1.5)
    assert response_generation(make_response("hi", avg=-0.25)).mean_logprob == -0.25
    assert response_generation(make_response("hi")).mean_logprob is None
    blocked = response_generation(types.GenerateContentResponse(candidates=[]))
    assert blocked.text == "" and blocked.mean_logprob is None


def test_answers_in_order_with_config_from_sampling():
    client = FakeClient(lambda n, contents: answer_for(contents))
    backend = GeminiBackend("gemini-2.5-flash", client=client, max_concurrency=3)
    questions = [Question(id=f"q{i}", subject="s", text=f"pick {'ABC'[i % 3]}", options=["x", "y", "z"]) for i in range(7)]
    responses = backend.answer(questions, SamplingConfig(temperature=0.3, top_p=0.9, max_tokens=77, seed=5))
    assert [r.question_id for r in responses] == [q.id for q in questions]
    assert [r.choice for r in responses] == ["ABC"[i % 3] for i in range(7)]
    assert all(math.isclose(r.confidence, -0.4) for r in responses)
    model, _, config = client.models.calls[0]
    assert model == "gemini-2.5-flash"
    assert (config.temperature, config.top_p, config.max_output_tokens, config.seed) == (0.3, 0.9, 77, 5)
    assert config.response_logprobs is True


def test_server_errors_and_429_are_retried():
    def script(n, contents):
        if n == 0:
            return errors.ServerError(503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
        if n == 1:
            return errors.ClientError(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
        return answer_for(contents)

    backend = GeminiBackend("g", client=FakeClient(script), max_concurrency=1)
    waits = []
    backend._sleep = waits.append
    gens = backend.generate(["pick B"])
    assert gens[0].text.endswith("(B).") and len(waits) == 2


def test_client_error_is_not_retried():
    err = errors.ClientError(400, {"error": {"code": 400, "message": "model not found", "status": "NOT_FOUND"}})
    client = FakeClient(lambda n, c: err)
    backend = GeminiBackend("g", client=client)
    with pytest.raises(BackendError, match="400.*model not found"):
        backend.generate(["pick A"])
    assert len(client.models.calls) == 1


def test_persistent_server_error_is_a_clear_error():
    err = errors.ServerError(500, {"error": {"code": 500, "message": "internal", "status": "INTERNAL"}})
    backend = GeminiBackend("g", client=FakeClient(lambda n, c: err), max_retries=2)
    backend._sleep = lambda s: None
    with pytest.raises(BackendError, match="still failing after 3 attempts"):
        backend.generate(["pick A"])


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("RGD_TEST_GEMINI_KEY", raising=False)
    backend = GeminiBackend("g", api_key_env="RGD_TEST_GEMINI_KEY")
    with pytest.raises(BackendError, match="RGD_TEST_GEMINI_KEY is not set"):
        backend.generate(["hello"])
