"""POST a JSON body and read a JSON reply, sorting failures into retryable and final (stdlib only)."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from rgd.llm.backends.errors import BackendError, TransientError

_BODY_IN_ERRORS = 300  # characters of a server's error body quoted in an error message


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _snippet(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text if len(text) <= _BODY_IN_ERRORS else text[:_BODY_IN_ERRORS] + "..."


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """POST ``body`` to ``url``; return the decoded JSON object.

    Raises :class:`TransientError` for timeouts, connection failures, 429, 5xx and malformed replies, and
    :class:`BackendError` for other HTTP errors (bad request, unauthorised, unknown model...), which no
    retry can fix. Header values (the API key) never appear in an error message.
    """
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            raw = reply.read()
    except urllib.error.HTTPError as exc:
        detail = _snippet(exc.read() or b"")
        if exc.code == 429 or exc.code >= 500:
            raise TransientError(f"HTTP {exc.code} from {url}: {detail}", _retry_after(exc.headers.get("Retry-After")))
        hint = " (check the API key environment variable)" if exc.code in (401, 403) else ""
        raise BackendError(f"HTTP {exc.code} from {url}{hint}: {detail}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise TransientError(f"timed out after {timeout_s}s: {url}")
        raise TransientError(f"cannot connect to {url}: {exc.reason}")
    except (TimeoutError, socket.timeout):
        raise TransientError(f"timed out after {timeout_s}s waiting for {url}")
    except (http.client.HTTPException, ConnectionError, OSError) as exc:
        raise TransientError(f"connection to {url} failed mid-request: {type(exc).__name__}: {exc}")
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransientError(f"malformed JSON from {url} ({exc}): {_snippet(raw)}")
    if not isinstance(obj, dict):
        raise TransientError(f"expected a JSON object from {url}, got {type(obj).__name__}")
    return obj
