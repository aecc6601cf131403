"""The retry loop shared by the OpenAI-compatible and Gemini backends, and the Retry-After it honours."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from rgd.llm.backends.errors import BackendError, TransientError
from rgd.llm.backends.retry import backoff_delay, call_with_retries, retry_after_s


class Headers(dict):
    """Case-insensitive lookups, like the SDK's (httpx) response headers."""

    def get(self, name, default=None):
        return next((v for k, v in self.items() if k.lower() == name.lower()), default)


def test_retry_after_forms():
    assert retry_after_s(None) is None and retry_after_s(Headers()) is None
    assert retry_after_s(Headers({"Retry-After": "2"})) == 2.0
    assert retry_after_s(Headers({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after_s(Headers({"Retry-After": later})) <= 30
    assert retry_after_s(Headers({"Retry-After": "soon"})) is None


def test_backoff_is_at_least_retry_after_and_at_most_a_minute():
    rng = random.Random(0)
    assert backoff_delay(0, 0.01, rng, retry_after_s=2.0) == 2.0
    assert backoff_delay(30, 1.0, rng) == 60.0


def test_retries_then_a_clear_error():
    waits = []
    calls = []

    def always_busy():
        calls.append(1)
        raise TransientError("HTTP 503", retry_after_s=0.5)

    with pytest.raises(BackendError, match=r"m: prompt 3: still failing after 3 attempts; last error: HTTP 503"):
        call_with_retries(always_busy, what="m: prompt 3", max_retries=2, backoff_base_s=0.0, sleep=waits.append)
    assert len(calls) == 3 and waits == [0.5, 0.5]
