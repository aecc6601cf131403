"""A minimal passthrough proxy on the gateway's own stack: the floor that ``benchmarks/gateway_compare.py``
compares ``rgd serve`` and LiteLLM against.

    python benchmarks/passthrough_proxy.py --port PORT --upstream http://127.0.0.1:P1/v1 [--upstream ...]

A bare ASGI app under uvicorn (uvloop + httptools when installed, as ``rgd serve``), one pooled aiohttp session
per upstream: each ``POST /v1/chat/completions`` is sent, byte for byte, to the next upstream in turn, and its
reply returned as it came. No framework, no auth, no parsing, no routing, no metrics: what is left is what any
proxy on uvicorn and aiohttp pays. Prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import argparse
import itertools
import socket

import aiohttp
import uvicorn

_JSON = b"application/json"


class Passthrough:
    def __init__(self, upstreams: list[str]) -> None:
        self.urls = [f"{u.rstrip('/')}/chat/completions" for u in upstreams]
        self.turn = itertools.count()
        self.sessions: list[aiohttp.ClientSession] = []
        self.timeout = aiohttp.ClientTimeout(total=60)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    for s in self.sessions:
                        await s.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/healthz":
            return await self._reply(send, 200, b'{"status": "ok"}', _JSON)
        if scope["path"] != "/v1/chat/completions" or scope["method"] != "POST":
            return await self._reply(send, 404, b'{"error": {"message": "not found"}}', _JSON)
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if not self.sessions:  # inside the running loop
            self.sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) for _ in self.urls]
        i = next(self.turn) % len(self.urls)
        try:
            async with self.sessions[i].post(self.urls[i], data=body, headers={"Content-Type": "application/json"},
                                             timeout=self.timeout) as r:
                reply = await r.read()
                kind = r.headers.get("Content-Type", "application/json").encode()
                return await self._reply(send, r.status, reply, kind)
        except (aiohttp.ClientError, TimeoutError):
            return await self._reply(send, 502, b'{"error": {"message": "upstream failed"}}', _JSON)

    @staticmethod
    async def _reply(send, status: int, body: bytes, kind: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", action="append", required=True, help="an OpenAI-compatible base URL (/v1)")
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY: see fake_upstream
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(Passthrough(args.upstream), log_level="warning", access_log=False, backlog=2048)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
