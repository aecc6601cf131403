"""A fast fake OpenAI-compatible upstream on loopback, in its own process, steered over HTTP.

``python -m tests.rgd.serving.fake_upstream --name NAME [--latency-ms 50] [--answer B] [--answers FILE]`` prints
``PORT <n>`` once it listens on 127.0.0.1. ``POST /control`` with ``{"mode": "ok" | "error500" | "error400" |
"stream_break" | "stream_cut", "latency_ms": .., "answer": .., "answers_file": .., "compress": null | "gzip" | "deflate" |
"br"}`` changes its behaviour; ``GET /stats`` returns ``{"requests": n}``. Chat replies say ``"<name> thinks. The answer is
(<answer>)."`` (or ``"Hello from <name>."`` without an answer), as JSON or, with ``stream: true``, as SSE chunks
ending in ``data: [DONE]``; ``compress`` encodes every reply (``Content-Encoding``), chunk by chunk for a
stream, whatever the client accepts; ``stream_break`` sends two chunks and half a third, then drops the
connection; ``stream_cut`` sends the same, then ends the response cleanly (no ``[DONE]``). With ``--answers`` (or
``answers_file``), a JSON object ``{recorded_key(question): letter or null}``, it is a recorded model: each question
(the last user message) is answered with its letter, ``"<name> has no answer."`` for null or a question it does not
know (``benchmarks/live_monitoring.py``: the MMLU-Pro pack's recorded answers). Used by the gateway tests
(``UpstreamProcess``) and by ``benchmarks/gateway_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def recorded_key(question: str) -> str:
    """The key of a question in an answers file: a digest of its text (the text itself is not stored twice)."""
    return hashlib.sha256(question.encode()).hexdigest()[:20]


def _last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


class FakeUpstream:
    def __init__(self, name: str, latency_ms: float, answer: str | None, answers_file: str | None = None) -> None:
        self.name, self.latency_ms, self.answer = name, latency_ms, answer
        self.answers: dict[str, str | None] | None = None
        if answers_file:
            self.load_answers(answers_file)
        self.mode = "ok"
        self.compress: str | None = None
        self.requests = 0
        self.last_body: dict | None = None
        self.last_auth: str | None = None

    def load_answers(self, path: str) -> None:
        self.answers = json.loads(Path(path).read_text())

    def text(self, request: dict) -> str:
        if self.answers is not None:
            letter = self.answers.get(recorded_key(_last_user_text(request)))
            return f"{self.name} thinks. The answer is ({letter})." if letter else f"{self.name} has no answer."
        return f"{self.name} thinks. The answer is ({self.answer})." if self.answer else f"Hello from {self.name}."

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["path"]
        if path == "/control":
            doc = json.loads(body)
            self.mode = doc.get("mode", self.mode)
            self.latency_ms = float(doc.get("latency_ms", self.latency_ms))
            self.answer = doc.get("answer", self.answer)
            self.compress = doc.get("compress", self.compress)
            if doc.get("answers_file"):
                self.load_answers(doc["answers_file"])
            return await self._json(send, 200, {"ok": True}, None)
        if path == "/stats":
            return await self._json(send, 200, {"requests": self.requests, "last_body": self.last_body,
                                                "last_auth": self.last_auth}, None)
        if path == "/v1/models":
            return await self._json(send, 200, {"object": "list", "data": [{"id": self.name, "object": "model"}]},
                                    self.compress)
        if path != "/v1/chat/completions":
            return await self._json(send, 404, {"error": {"message": "not found"}}, self.compress)
        self.requests += 1
        request = json.loads(body)
        self.last_body = request
        self.last_auth = dict(scope["headers"]).get(b"authorization", b"").decode() or None
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000.0)
        if self.mode == "error500":
            return await self._json(send, 500, {"error": {"message": "upstream broke", "type": "server_error"}},
                                    self.compress)
        if self.mode == "error400":
            return await self._json(send, 400, {"error": {"message": f"{self.name} refuses", "type": "invalid_request_error"}},
                                    self.compress)
        text = self.text(request)
        if request.get("stream"):
            encoder = Encoder(self.compress)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream"), *encoder.headers]})
            for i, word in enumerate(text.split(" ")):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": request.get("model"),
                         "choices": [{"index": 0, "delta": {"content": (" " if i else "") + word}, "finish_reason": None}]}
                event = f"data: {json.dumps(chunk)}\n\n".encode()
                if self.mode == "stream_break" and i == 2:
                    await send({"type": "http.response.body", "body": encoder.chunk(event[:20]), "more_body": True})
                    raise ConnectionAbortedError("stream_break: the connection drops mid-stream")
                if self.mode == "stream_cut" and i == 2:  # a normal end of the HTTP response, mid-answer
                    await send({"type": "http.response.body", "body": encoder.chunk(event[:20]) + encoder.end()})
                    return
                await send({"type": "http.response.body", "body": encoder.chunk(event), "more_body": True})
            await send({"type": "http.response.body", "body": encoder.chunk(b"data: [DONE]\n\n") + encoder.end()})
            return
        reply = {
            "id": "cmpl-1", "object": "chat.completion", "created": int(time.time()), "model": request.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 10 + len(text.split())},
        }
        await self._json(send, 200, reply, self.compress)

    @staticmethod
    async def _json(send, status: int, doc: dict, compress: str | None) -> None:
        encoder = Encoder(compress)
        payload = encoder.chunk(json.dumps(doc).encode()) + encoder.end()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                *encoder.headers]})
        await send({"type": "http.response.body", "body": payload})


class Encoder:
    """A body's Content-Encoding, applied chunk by chunk (each chunk flushed, as a compressing proxy streams)."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self.headers = [(b"content-encoding", kind.encode())] if kind else []
        if kind == "br":
            import brotli

            self._br = brotli.Compressor()
        elif kind in ("gzip", "deflate"):
            self._z = zlib.compressobj(wbits=31 if kind == "gzip" else 15)
        elif kind is not None:
            raise ValueError(f"unknown compression {kind!r}")

    def chunk(self, data: bytes) -> bytes:
        if self.kind is None:
            return data
        if self.kind == "br":
            return self._br.process(data) + self._br.flush()
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def end(self) -> bytes:
        if self.kind is None:
            return b""
        return self._br.finish() if self.kind == "br" else self._z.flush()


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--answer", default=None)
    ap.add_argument("--answers", default=None, help="a recorded model's answers file (see the module's docstring)")
    args = ap.parse_args()
    # proto IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it Nagle holds the reply's body (a second write) until the client's delayed ACK, ~40 ms later
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(FakeUpstream(args.name, args.latency_ms, args.answer, args.answers), log_level="error",
                            access_log=False, backlog=2048)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


class UpstreamProcess:
    """Start a fake upstream as a subprocess; ``control``, ``stats``, ``kill``; a context manager."""

    def __init__(self, name: str, latency_ms: float = 0.0, answer: str | None = None,
                 answers: str | Path | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.rgd.serving.fake_upstream", "--name", name, "--latency-ms", str(latency_ms)]
            + (["--answer", answer] if answer else []) + (["--answers", str(answers)] if answers else []),
            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.kill()
            raise RuntimeError(f"fake upstream {name} did not start: {line!r}")
        self.port = int(line.split()[1])
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"fake upstream {self.name} did not answer")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _call(self, path: str, doc: dict | None = None) -> dict:
        data = None if doc is None else json.dumps(doc).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def control(self, **doc) -> None:
        self._call("/control", doc)

    def stats(self) -> dict:
        return self._call("/stats")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def __enter__(self) -> "UpstreamProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


if __name__ == "__main__":
    main()
