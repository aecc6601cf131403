"""A minimal passthrough proxy on the gateway's own stack: the floor that ``benchmarks/gateway_compare.py``
compares ``rgd serve`` and LiteLLM against.

    python benchmarks/passthrough_proxy.py --port PORT --upstream http://127.0.0.1:P1/v1 [--upstream ...]

Starlette route, uvicorn (uvloop + httptools when installed, as ``rgd serve``), one pooled aiohttp session per
upstream: each ``POST /v1/chat/completions`` is sent, byte for byte, to the next upstream in turn, and its
reply returned as it came. No auth, no parsing, no routing, no metrics. Prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import argparse
import itertools
import socket
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app(upstreams: list[str]) -> Starlette:
    sessions: list[aiohttp.ClientSession] = []
    turn = itertools.count()
    urls = [f"{u.rstrip('/')}/chat/completions" for u in upstreams]
    timeout = aiohttp.ClientTimeout(total=60)

    async def chat(request: Request) -> Response:
        if not sessions:
            sessions.extend(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) for _ in urls)
        i = next(turn) % len(urls)
        body = await request.body()
        try:
            async with sessions[i].post(urls[i], data=body, headers={"Content-Type": "application/json"},
                                        timeout=timeout) as r:
                reply = await r.read()
                return Response(reply, r.status, media_type=r.headers.get("Content-Type", "application/json"))
        except (aiohttp.ClientError, TimeoutError):
            return Response(b'{"error": {"message": "upstream failed"}}', 502, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status": "ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        for s in sessions:
            await s.close()

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/healthz", healthz)],
                     lifespan=lifespan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", action="append", required=True, help="an OpenAI-compatible base URL (/v1)")
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY: see fake_upstream
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(create_app(args.upstream), log_level="warning", access_log=False, backlog=2048)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
