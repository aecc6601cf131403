"""The simulated pool as OpenAI-compatible chat servers on loopback: ``rgd demo-upstreams`` (no extra needed).

One HTTP server per pool model, on consecutive ports from ``base_port`` (``configs/serve/demo.yaml`` names
8101-8109, the embedded default's nine models in pool order), each answering ``POST /v1/chat/completions``
(JSON, or SSE with ``stream: true``) and ``GET /v1/models`` with :class:`rgd.simulated.chat.ChatAnswerer`'s
answers to the last user message: offline, deterministic, instant. Bounded: loopback only, request bodies of at
most :data:`MAX_BODY_BYTES`, a socket timeout, at most :data:`MAX_CONCURRENT` requests at once per server (503
past it); bad requests get OpenAI-style 400s. The standard library only, so it runs on the core install.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rgd.errors import ParameterError
from rgd.simulated.chat import ChatAnswerer

LOOPBACK = "127.0.0.1"
DEFAULT_BASE_PORT = 8101
MAX_BODY_BYTES = 256 * 1024
MAX_CONCURRENT = 32
SOCKET_TIMEOUT_S = 10.0


def _error(message: str, code: str, type: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def last_user_text(body: Any) -> str:
    """The text of the last user message of a chat request (ValueError naming what is wrong)."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' is required: a non-empty list of chat messages")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            if isinstance(content, str) and content.strip():
                return content
            raise ValueError("the last user message has no text content")
    raise ValueError("no user message to answer")


class _Handler(BaseHTTPRequestHandler):
    server: _ModelServer
    # one request per connection: a kept-alive connection this server closed while idle would reach the gateway
    # as a dropped connection (a failover) when its pool reuses it
    protocol_version = "HTTP/1.0"
    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: question text is not logged
        pass

    def _send(self, status: int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [
                {"id": self.server.model, "object": "model", "created": 0, "owned_by": "rgd-simulated"}]})
        elif self.path == "/healthz":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, _error(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, _error(f"no route {self.path}", "not_found"))
            return
        if not self.server.slots.acquire(blocking=False):
            self._send(503, _error("too many requests at once", "overloaded", "server_error"))
            return
        try:
            self._chat()
        finally:
            self.server.slots.release()

    def _chat(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(411, _error("Content-Length is required", "length_required"))
            return
        if int(length) > MAX_BODY_BYTES:
            self._send(413, _error(f"request body larger than {MAX_BODY_BYTES} bytes", "request_too_large"))
            return
        try:
            body = json.loads(self.rfile.read(int(length)))
            text = last_user_text(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            message = str(exc) if not isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)) else \
                "the request body is not valid JSON"
            self._send(400, _error(message, "invalid_request"))
            return
        model = body.get("model", self.server.model)
        if model != self.server.model:
            self._send(404, _error(f"this server serves {self.server.model!r}, not {model!r}", "model_not_found"))
            return
        answer = self.server.answerer.answer(self.server.model, text)
        created = int(time.time())
        rid = f"chatcmpl-sim-{self.server.model}-{created}"
        if body.get("stream"):
            self._stream(rid, created, answer.text)
            return
        n_prompt, n_completion = len(text.split()), len(answer.text.split())
        self._send(200, {
            "id": rid, "object": "chat.completion", "created": created, "model": self.server.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_completion,
                      "total_tokens": n_prompt + n_completion},
            "simulated": {"mean_logprob": answer.mean_logprob, "subject": answer.subject},
        })

    def _stream(self, rid: str, created: int, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": self.server.model}
        deltas = [{"role": "assistant", "content": ""}] + [{"content": w} for w in _pieces(text)] + [{}]
        for i, delta in enumerate(deltas):
            finish = "stop" if i == len(deltas) - 1 else None
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode("utf-8"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _pieces(text: str, words_per_piece: int = 6) -> list[str]:
    """The text in chunks of a few words, as a model streams tokens; joined they give the text back."""
    words = text.split(" ")
    return [" ".join(words[i:i + words_per_piece]) + (" " if i + words_per_piece < len(words) else "")
            for i in range(0, len(words), words_per_piece)]


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, port: int, model: str, answerer: ChatAnswerer) -> None:
        self.model, self.answerer = model, answerer
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        super().__init__((LOOPBACK, port), _Handler)


class DemoUpstreams:
    """The pool's servers, started (``start``) on ``base_port``, ``base_port + 1``, ... (0: any free ports)."""

    def __init__(self, answerer: ChatAnswerer, base_port: int = DEFAULT_BASE_PORT) -> None:
        if not 0 <= base_port <= 65535 - len(answerer.models):
            raise ParameterError(f"--base-port must leave room for {len(answerer.models)} ports below 65536, "
                                 f"got {base_port}")
        self.answerer = answerer
        self.base_port = base_port
        self.servers: list[_ModelServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> dict[str, str]:
        """Bind every server (ParameterError naming a port in use, with none left listening) and serve each on a
        thread; returns model -> base URL."""
        for i, model in enumerate(self.answerer.models):
            port = 0 if self.base_port == 0 else self.base_port + i
            try:
                self.servers.append(_ModelServer(port, model, self.answerer))
            except OSError as exc:
                self.stop()
                raise ParameterError(f"cannot listen on {LOOPBACK}:{port} for {model} ({exc.strerror}): another "
                                     "rgd demo-upstreams may be running; stop it, or pick --base-port") from None
        for server in self.servers:
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                                 name=f"demo-{server.model}")
            t.start()
            self._threads.append(t)
        return self.urls

    @property
    def urls(self) -> dict[str, str]:
        return {s.model: f"http://{LOOPBACK}:{s.server_address[1]}/v1" for s in self.servers}

    def stop(self) -> None:
        for server in self.servers:
            if any(t.name == f"demo-{server.model}" for t in self._threads):
                server.shutdown()
            server.server_close()
        self.servers, self._threads = [], []

