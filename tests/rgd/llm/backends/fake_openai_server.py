"""A tiny OpenAI-protocol server on loopback whose failures the tests script.

``FakeOpenAIServer(behaviour)`` calls ``behaviour(n, prompt)`` for the ``n``-th request (0-based, across all
requests) and ``prompt`` (the user message or completion prompt). It returns one of

- ``None``: a normal reply whose text is ``reply_text(prompt)`` with token log-probabilities;
- ``("status", code, headers_dict, body_bytes)``: an HTTP error;
- ``("sleep", seconds)``: wait that long, then reply normally (a client with a shorter timeout gives up);
- ``("drop",)``: close the connection without a reply;
- ``("raw", bytes)``: a 200 with that body (malformed JSON, wrong shape...).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply_text(prompt: str) -> str:
    """The answer a healthy fake server gives: it names the letter in the prompt's 'pick X' marker."""
    letter = prompt.split("pick ", 1)[1][0] if "pick " in prompt else "A"
    # echo the question line of an answer prompt (not its "The answer is (X)" instruction), else the prompt
    echo = next((line for line in prompt.splitlines() if line.startswith("Question:")), prompt)
    return f"Echo [{echo}]. The answer is ({letter})."


def completion(prompt: str, chat: bool) -> dict:
    text = reply_text(prompt)
    tokens = text.split()
    logprobs = [-0.1 * (1 + i % 3) for i in range(len(tokens))]
    if chat:
        return {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": {"content": [{"token": t, "logprob": lp} for t, lp in zip(tokens, logprobs)]},
                    "finish_reason": "stop",
                }
            ]
        }
    return {"choices": [{"index": 0, "text": text, "logprobs": {"token_logprobs": logprobs}, "finish_reason": "stop"}]}


class FakeOpenAIServer:
    def __init__(self, behaviour=None) -> None:
        self.behaviour = behaviour or (lambda n, prompt: None)
        self.lock = threading.Lock()
        self.n_requests = 0
        self.calls_per_prompt: Counter[str] = Counter()
        self.auth_headers: list[str | None] = []
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                chat = self.path.endswith("/chat/completions")
                prompt = body["messages"][-1]["content"] if chat else body["prompt"]
                with server.lock:
                    n = server.n_requests
                    server.n_requests += 1
                    server.calls_per_prompt[prompt] += 1
                    server.auth_headers.append(self.headers.get("Authorization"))
                    server.bodies.append(body)
                action = server.behaviour(n, prompt)
                try:
                    self._act(action, prompt, chat)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _act(self, action, prompt: str, chat: bool) -> None:
                if action is not None and action[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if action is not None and action[0] == "sleep":
                    time.sleep(action[1])
                    action = None
                if action is None:
                    self._send(200, {}, json.dumps(completion(prompt, chat)).encode())
                elif action[0] == "status":
                    self._send(action[1], action[2], action[3])
                elif action[0] == "raw":
                    self._send(200, {}, action[1])
                else:  # pragma: no cover - a typo in a test
                    raise ValueError(f"unknown action {action!r}")

            def _send(self, code: int, headers: dict, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
