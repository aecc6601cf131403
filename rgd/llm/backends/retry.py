"""Retrying a call with exponential backoff and jitter: the one retry loop of the OpenAI-compatible and Gemini
backends (their SDKs' own retries cannot retry a malformed reply, nor be paused by the tests)."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from typing import Callable, Mapping, TypeVar

from rgd.llm.backends.errors import BackendError, RequestTimeout, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WAIT_S = 60.0


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asks for, in seconds: ``Retry-After-Ms``, else ``Retry-After`` as seconds or as an
    HTTP date; ``None`` when there is neither (or it cannot be read)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                pass
    try:
        when = email.utils.parsedate_to_datetime(headers.get("retry-after") or "")
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, base_s: float, rng: random.Random, retry_after_s: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): ``base * 2**attempt`` scaled by a random
    factor in [0.5, 1.5) (jitter, so parallel clients do not retry in lock step), at least the server's
    ``Retry-After``, at most a minute."""
    delay = base_s * (2**attempt) * (0.5 + rng.random())
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return min(delay, MAX_WAIT_S)


def call_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    max_retries: int,
    backoff_base_s: float,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    max_timeout_retries: int | None = None,
    timeout_hint: str = "",
) -> T:
    """Call ``fn``; on :class:`TransientError` wait and retry, up to ``max_retries`` retries, then raise
    :class:`BackendError` naming ``what``, the number of attempts and the last failure. Timeouts
    (:class:`RequestTimeout`) are retried at most ``max_timeout_retries`` times (None: like any other failure);
    the error then ends with ``timeout_hint`` (what to change)."""
    rng = rng or random.Random()
    timeouts = 0
    for attempt in range(max_retries + 1):
        try:
            return fn()
        except TransientError as exc:
            if isinstance(exc, RequestTimeout):
                timeouts += 1
                if max_timeout_retries is not None and timeouts > max_timeout_retries:
                    raise BackendError(f"{what}: timed out {timeouts} times ({exc}){timeout_hint}") from exc
            if attempt == max_retries:
                raise BackendError(f"{what}: still failing after {attempt + 1} attempts; last error: {exc}") from exc
            delay = backoff_delay(attempt, backoff_base_s, rng, exc.retry_after_s)
            log.warning("%s: %s; retry %d/%d in %.2fs", what, exc, attempt + 1, max_retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
