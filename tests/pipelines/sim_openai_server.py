"""A simulated world behind the OpenAI protocol on loopback: real-model runs without real models.

    python -m tests.pipelines.sim_openai_server [--world-seed 0] [--preset strong] [--subjects-out FILE]

prints ``PORT <n>`` once it listens on 127.0.0.1. ``POST /v1/chat/completions`` with ``model`` = a pool model
of the simulated pool is answered by that simulated model (its mean log-probability as the reply's token
logprobs); any other model is the simulated generator (generation prompts of ``rgd.generation.prompt``). One
world serves both, so the pool can answer the questions the generator wrote. ``--subjects-out`` writes the
world's subjects as a subject-set YAML for ``generation.subjects``. Used by the label-free pipeline test: the
run goes through the same LLM code path (``LLMSource``, the openai backend, answer extraction) as real models.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rgd.llm.backends.base import SamplingConfig
from rgd.simulated.generator import SimulatedGenerator
from rgd.simulated.pool import PoolConfig, SimulatedPool
from rgd.simulated.presets import generator_preset
from rgd.simulated.world import World, WorldConfig


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--preset", default="strong")
    p.add_argument("--subjects-out", default=None)
    args = p.parse_args()
    world = World(WorldConfig(seed=args.world_seed, n_subjects=3, niches_per_subject=3))
    generator = SimulatedGenerator(world, generator_preset(args.preset))
    pool = {m.model: m for m in SimulatedPool(world, PoolConfig(seed=0, n_specialists=3, n_generalists=1)).models}
    if args.subjects_out:
        lines = ["benchmark: simulated", f"n_options: {world.config.min_options}", "subjects:"]
        lines += [f"  - name: {s}\n    description: questions on {s}" for s in world.subjects]
        with open(args.subjects_out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):
            body = json.dumps({"pool": sorted(pool), "subjects": list(world.subjects)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            prompt = req["messages"][-1]["content"]
            model = req.get("model", "")
            sampling = SamplingConfig(seed=req.get("seed"), max_tokens=int(req.get("max_tokens") or 1024))
            try:
                with lock:  # the world's registry is shared by the generator and the pool
                    gen = (pool.get(model) or generator).generate([prompt], sampling)[0]
            except Exception as exc:  # noqa: BLE001 - a 400 the backend reports with the reason
                body = json.dumps({"error": {"message": str(exc)}}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            logprobs = None if gen.mean_logprob is None else {
                "content": [{"token": "x", "logprob": gen.mean_logprob, "bytes": None, "top_logprobs": []}]}
            body = json.dumps({
                "id": "sim", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": logprobs,
                             "message": {"role": "assistant", "content": gen.text}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
