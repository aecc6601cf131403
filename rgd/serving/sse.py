"""An upstream's server-sent events relayed to the client: whole events only, and an error event when it breaks.

A stream that breaks after its first byte cannot fail over any more; it must not look complete either (status
200, the last chunk relayed, no ``[DONE]``). The relay passes events on once they are complete, so when the
upstream drops the connection or stops sending mid-event, the unfinished event is dropped and an OpenAI-style
error event (``data: {"error": {...}}``, which the OpenAI SDKs raise as an ``APIError``) ends the stream. So
does a response that ends cleanly (the connection closed normally) without the ``data: [DONE]`` event that
ends every OpenAI stream: at the transport it looks complete, but the answer may be cut anywhere.
"""

from __future__ import annotations

import asyncio
import re
from typing import AsyncIterator, Callable

import aiohttp

from rgd.serving.errors import error_body

#: what a broken upstream stream raises while it is read (a dropped connection, no chunk within timeout_s)
BROKEN = (aiohttp.ClientError, asyncio.TimeoutError)

#: the event that ends an OpenAI stream, as a line of its own (``data:`` with or without the space)
_DONE = re.compile(rb"(?:^|\n)data: ?\[DONE\][ \t]*\r?(?:\n|$)")


def has_done(events: bytes) -> bool:
    """Do ``events`` hold the ``data: [DONE]`` line?"""
    return b"[DONE]" in events and _DONE.search(events) is not None


def complete_length(data: bytes) -> int:
    """How many of ``data``'s bytes are complete events: up to the last blank line (0 when none ended)."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if (i := data.rfind(sep)) >= 0]
    return max(ends, default=0)


def error_event(message: str, code: str) -> bytes:
    return b"data: " + error_body(message, "upstream_error", code) + b"\n\n"


async def relay(first: bytes, chunks: AsyncIterator[bytes], broken: Callable[[BaseException | None], str]
                ) -> AsyncIterator[bytes]:
    """``first``, then ``chunks`` cut at event boundaries. When reading ``chunks`` raises one of
    :data:`BROKEN`, or they end before a ``data: [DONE]`` event, the unfinished event is dropped and the stream
    ends with an error event whose message is ``broken(exc)`` (``broken(None)`` for the clean end without
    ``[DONE]``). After ``[DONE]``, what is left is passed on as it came, and a break cuts nothing."""
    yield first
    pending = b""
    done = False
    try:
        async for chunk in chunks:
            data = pending + chunk if pending else chunk
            end = complete_length(data)
            pending = data[end:]
            if end:
                done = done or has_done(data[:end])
                yield data[:end]
    except BROKEN as exc:
        if not done:  # a connection dropped after [DONE] cut nothing
            yield error_event(broken(exc), "stream_broken")
        return
    if done or has_done(pending):  # a last "data: [DONE]" with no blank line after it is an end too
        if pending:
            yield pending
        return
    yield error_event(broken(None), "stream_broken")
