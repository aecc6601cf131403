"""An upstream's server-sent events relayed to the client: whole events only, and an error event when it breaks.

A stream that breaks after its first byte cannot fail over any more; it must not look complete either (status
200, the last chunk relayed, no ``[DONE]``). The relay passes events on once they are complete, so when the
upstream drops the connection or stops sending mid-event, the unfinished event is dropped and an OpenAI-style
error event (``data: {"error": {...}}``, which the OpenAI SDKs raise as an ``APIError``) ends the stream.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

import aiohttp

from rgd.serving.errors import error_body

#: what a broken upstream stream raises while it is read (a dropped connection, no chunk within timeout_s)
BROKEN = (aiohttp.ClientError, asyncio.TimeoutError)


def complete_length(data: bytes) -> int:
    """How many of ``data``'s bytes are complete events: up to the last blank line (0 when none ended)."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if (i := data.rfind(sep)) >= 0]
    return max(ends, default=0)


def error_event(message: str, code: str) -> bytes:
    return b"data: " + error_body(message, "upstream_error", code) + b"\n\n"


async def relay(first: bytes, chunks: AsyncIterator[bytes], broken: Callable[[BaseException], str]
                ) -> AsyncIterator[bytes]:
    """``first``, then ``chunks`` cut at event boundaries (what is left at a clean end is passed on as it
    came). When reading ``chunks`` raises one of :data:`BROKEN`, the stream ends with an error event whose
    message is ``broken(exc)``."""
    yield first
    pending = b""
    try:
        async for chunk in chunks:
            data = pending + chunk if pending else chunk
            end = complete_length(data)
            pending = data[end:]
            if end:
                yield data[:end]
    except BROKEN as exc:
        yield error_event(broken(exc), "stream_broken")
        return
    if pending:
        yield pending
