"""Errors raised by LLM backends."""

from __future__ import annotations

from rgd.errors import RGDError


class BackendError(RGDError, RuntimeError):
    """A backend could not produce an answer: a refused request, or a server still failing after retries."""


class TransientError(Exception):
    """A failure worth retrying (timeout, dropped connection, 429, 5xx, malformed reply).

    Internal to the retry loop; callers see :class:`BackendError` once the retries are used up.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestTimeout(TransientError):
    """The request used up its whole timeout. Retried fewer times than other transient failures: a reply that
    did not come in ``timeout_s`` (a long generation on a slow server) most likely will not come the next time
    either, and five retries of a 60 s timeout kept one question failing for ~6 minutes."""
