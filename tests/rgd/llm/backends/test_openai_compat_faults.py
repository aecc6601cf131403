"""OpenAICompatibleBackend against a scripted loopback server: every fault ends in a recovered run (every
prompt answered once, in order) or a clear BackendError; never in missing or duplicated answers."""

from __future__ import annotations

import math
import threading

import pytest

from rgd.data.schema import Question
from rgd.llm.backends.base import SamplingConfig
from rgd.llm.backends.errors import BackendError
from rgd.llm.backends.openai_compat import OpenAICompatibleBackend
from tests.rgd.llm.backends.fake_openai_server import FakeOpenAIServer, reply_text

PROMPTS = [f"question {i}: pick {'ABCD'[i % 4]}" for i in range(12)]


def make_backend(server: FakeOpenAIServer, **kw) -> tuple[OpenAICompatibleBackend, list[float]]:
    params = dict(max_concurrency=4, timeout_s=2.0, max_retries=3, backoff_base_s=0.01, api_key_env="RGD_TEST_KEY")
    params.update(kw)
    backend = OpenAICompatibleBackend("fake-model", server.base_url, **params)
    waits: list[float] = []
    backend._sleep = waits.append  # record the backoff instead of waiting
    return backend, waits


def assert_complete(gens, server: FakeOpenAIServer, prompts=PROMPTS) -> None:
    """Every prompt has its own answer, in order; each prompt reached the server at least once."""
    assert [g.text for g in gens] == [reply_text(p) for p in prompts]
    assert all(g.mean_logprob is not None and g.mean_logprob < 0 for g in gens)
    assert set(server.calls_per_prompt) == set(prompts)


def test_healthy_server_keeps_order_and_averages_logprobs():
    with FakeOpenAIServer() as server:
        backend, waits = make_backend(server)
        gens = backend.generate(PROMPTS, SamplingConfig(temperature=0.0, max_tokens=32, seed=7))
    assert_complete(gens, server)
    assert waits == [] and server.n_requests == len(PROMPTS)
    n_tokens = len(reply_text(PROMPTS[0]).split())
    expected = sum(-0.1 * (1 + i % 3) for i in range(n_tokens)) / n_tokens
    assert math.isclose(gens[0].mean_logprob, expected, rel_tol=1e-9)
    body = server.bodies[0]
    assert body["model"] == "fake-model" and body["max_tokens"] == 32 and body["seed"] == 7 and body["logprobs"]


def test_legacy_completions_endpoint():
    with FakeOpenAIServer() as server:
        backend, _ = make_backend(server, use_chat=False)
        gens = backend.generate(PROMPTS[:3])
    assert_complete(gens, server, PROMPTS[:3])
    assert server.bodies[0]["logprobs"] == 1 and "prompt" in server.bodies[0]


def test_answer_extracts_letters_in_order():
    questions = [
        Question(id=f"q{i}", subject="math", text=f"pick {'ABCD'[i % 4]} please", options=["w", "x", "y", "z"])
        for i in range(8)
    ]
    with FakeOpenAIServer() as server:
        backend, _ = make_backend(server)
        responses = backend.answer(questions)
    assert [r.question_id for r in responses] == [q.id for q in questions]
    assert [r.choice for r in responses] == ["ABCD"[i % 4] for i in range(8)]
    assert all(r.model == "fake-model" and r.confidence < 0 for r in responses)


def test_500_then_success_recovers():
    failed: set[str] = set()

    def behaviour(n, prompt):
        if prompt not in failed:  # every prompt fails once
            failed.add(prompt)
            return ("status", 500, {}, b'{"error": "overloaded"}')
        return None

    with FakeOpenAIServer(behaviour) as server:
        backend, waits = make_backend(server)
        gens = backend.generate(PROMPTS)
    assert_complete(gens, server)
    assert all(c == 2 for c in server.calls_per_prompt.values())
    assert len(waits) == len(PROMPTS)


def test_429_honours_retry_after():
    def behaviour(n, prompt):
        return ("status", 429, {"Retry-After": "2"}, b"slow down") if n == 0 else None

    with FakeOpenAIServer(behaviour) as server:
        backend, waits = make_backend(server, max_concurrency=1)
        gens = backend.generate(PROMPTS[:3])
    assert_complete(gens, server, PROMPTS[:3])
    assert len(waits) == 1 and waits[0] >= 2.0


def test_timeout_then_recovery():
    def behaviour(n, prompt):
        return ("sleep", 1.0) if n < 2 else None

    with FakeOpenAIServer(behaviour) as server:
        backend, waits = make_backend(server, timeout_s=0.3, max_concurrency=2)
        gens = backend.generate(PROMPTS[:4])
    assert_complete(gens, server, PROMPTS[:4])
    assert len(waits) == 2


def test_always_timing_out_is_a_clear_error_after_one_retry():
    """A timeout is retried once by default (timeout_retries), not max_retries times: a reply that did not come in
    timeout_s will most likely not come the next time either, and the error says what to change."""
    with FakeOpenAIServer(lambda n, p: ("sleep", 0.6)) as server:
        backend, waits = make_backend(server, timeout_s=0.2, max_retries=5, max_concurrency=1)
        sampling = SamplingConfig(max_tokens=512)
        with pytest.raises(BackendError, match=r"prompt 0: timed out 2 times \(timed out after 0.2s.*\); raise "
                                               r"params.timeout_s \(now 0.2 s\) or lower the call's max_tokens \(512"):
            backend.generate(PROMPTS[:2], sampling)
    assert len(waits) == 1
    with FakeOpenAIServer(lambda n, p: ("sleep", 0.6)) as server:
        backend, waits = make_backend(server, timeout_s=0.2, max_retries=2, timeout_retries=9, max_concurrency=1)
        with pytest.raises(BackendError, match=r"prompt 0: still failing after 3 attempts.*timed out"):
            backend.generate(PROMPTS[:2])
    assert len(waits) == 2


def test_other_transient_failures_keep_the_full_retry_budget():
    def behaviour(n, prompt):  # four 503s, then the answer: more failures than timeout_retries allows timeouts
        return ("status", 503, {}, b"busy") if n < 4 else None

    with FakeOpenAIServer(behaviour) as server:
        backend, waits = make_backend(server, max_retries=5, max_concurrency=1)
        gens = backend.generate(PROMPTS[:1])
    assert_complete(gens, server, PROMPTS[:1])
    assert len(waits) == 4


def test_malformed_json_is_retried_then_recovers():
    def behaviour(n, prompt):
        return ("raw", b'{"choices": [ {"message": ') if n % 3 == 0 and n < 9 else None

    with FakeOpenAIServer(behaviour) as server:
        backend, _ = make_backend(server)
        gens = backend.generate(PROMPTS)
    assert_complete(gens, server)


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"<html>bad gateway</html>", "malformed JSON"), (b'{"object": "error"}', "no choices")],
)
def test_persistently_malformed_reply_is_a_clear_error(payload, message):
    with FakeOpenAIServer(lambda n, p: ("raw", payload)) as server:
        backend, _ = make_backend(server, max_retries=1)
        with pytest.raises(BackendError, match=message):
            backend.generate(PROMPTS[:3])


def test_dropped_connections_mid_run_are_retried():
    dropped: set[str] = set()
    lock = threading.Lock()

    def behaviour(n, prompt):
        with lock:
            if n >= 3 and prompt not in dropped and len(dropped) < 5:
                dropped.add(prompt)
                return ("drop",)
        return None

    with FakeOpenAIServer(behaviour) as server:
        backend, waits = make_backend(server)
        gens = backend.generate(PROMPTS)
    assert_complete(gens, server)
    assert len(dropped) == 5 and len(waits) == 5
    assert sum(server.calls_per_prompt.values()) == len(PROMPTS) + 5


def test_server_down_is_a_clear_error():
    with FakeOpenAIServer() as server:
        url = server.base_url
    backend = OpenAICompatibleBackend("m", url, max_retries=1, backoff_base_s=0.0)
    backend._sleep = lambda s: None
    with pytest.raises(BackendError, match="cannot connect"):
        backend.generate(["hello"])


def test_bad_request_is_not_retried():
    with FakeOpenAIServer(lambda n, p: ("status", 400, {}, b'{"error": "unknown model"}')) as server:
        backend, waits = make_backend(server, max_concurrency=1)
        with pytest.raises(BackendError, match="HTTP 400.*unknown model"):
            backend.generate(PROMPTS[:1])
    assert server.n_requests == 1 and waits == []


def test_api_key_read_at_call_time_and_never_in_errors(monkeypatch):
    secret = "sk-test-very-secret"
    with FakeOpenAIServer(lambda n, p: None if n == 0 else ("status", 401, {}, b"invalid key")) as server:
        backend, _ = make_backend(server, max_concurrency=1)
        monkeypatch.setenv("RGD_TEST_KEY", secret)  # set after construction: read at call time
        backend.generate(PROMPTS[:1])
        with pytest.raises(BackendError) as info:
            backend.generate(PROMPTS[1:2])
    assert server.auth_headers == [f"Bearer {secret}"] * 2
    assert "HTTP 401" in str(info.value) and "API key" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(backend)


def test_no_key_sends_no_authorization(monkeypatch):
    monkeypatch.delenv("RGD_TEST_KEY", raising=False)
    with FakeOpenAIServer() as server:
        backend, _ = make_backend(server)
        backend.generate(PROMPTS[:1])
    assert server.auth_headers == [None]


def test_invalid_configuration():
    with pytest.raises(ValueError, match="http"):
        OpenAICompatibleBackend("m", "localhost:8000")
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAICompatibleBackend("m", "http://x", max_concurrency=0)
