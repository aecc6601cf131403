"""MiniLM's encode throughput, way against way in one process: torch bfloat16 / float32, ONNX Runtime, chunk sizes.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/embedder_speed.py [--data ../shared/data/mmlu_pro] [--rounds 3] \
        [--variants bfloat16-torch-64,float32-onnx-8,bfloat16-torch-8,float32-torch-64] [--output FILE]

A variant is ``PRECISION-BACKEND-BATCHSIZE``: the embedder's precision, its backend (``torch``, or ``onnx``: the
``onnx`` extra) and its ``batch_size`` (a call's texts sorted by length and run that many at a time). One embedder,
the model loaded once (ONNX Runtime's export made once). Every variant first runs at every batch size untimed;
then each round times every variant (in an order that rotates from round to round) on batches of 1, 8 and 32
MMLU-Pro questions, new questions for every timing. Reported per variant and batch: questions per wall second
and per CPU second of this process, the median of the rounds and each round. Set ``OMP_WAIT_POLICY=PASSIVE``
(as ``rgd serve`` does): with spinning torch threads on shared cores the CPU times mean nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.embedding.sentence import SentenceTransformerEmbedder  # noqa: E402

BATCHES = {1: 32, 8: 96, 32: 192}  # batch size -> questions a timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch (and ONNX Runtime) threads, as the gateway's")
    ap.add_argument("--variants", default="bfloat16-torch-64,float32-onnx-8,bfloat16-torch-8,float32-torch-64")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with gzip.open(args.data / "questions.jsonl.gz", "rt") as fh:
        texts = [json.loads(line)["question"] for line in fh]
    names = args.variants.split(",")
    embedder = SentenceTransformerEmbedder(show_progress=False)
    onnx = None
    if any(n.split("-")[1] == "onnx" for n in names):
        embedder.backend = "onnx"
        embedder.embed(["the export, made once"])
        onnx = embedder._onnx

    def use(name: str) -> None:
        precision, backend, batch_size = name.split("-")
        embedder.batch_size = int(batch_size)
        if backend == "onnx":
            embedder.precision = "float32"
            embedder.backend = "onnx"
            embedder._onnx = onnx
        else:
            embedder.backend = "torch"
            embedder.precision = precision

    cursor = 0

    def timed(name: str, bs: int, n: int) -> tuple[float, float]:
        nonlocal cursor
        use(name)
        batches = [texts[i:i + bs] for i in range(cursor, cursor + n, bs)]
        cursor += n
        embedder.embed(batches[0])
        cpu, wall = time.process_time(), time.perf_counter()
        for batch in batches:
            embedder.embed(batch)
        return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)

    for name in names:  # warm-up: every variant at every batch size
        for bs in BATCHES:
            timed(name, bs, 4 * bs)
    rows: dict[str, dict[int, list[tuple[float, float]]]] = {n: {bs: [] for bs in BATCHES} for n in names}
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            for bs, n in BATCHES.items():
                rows[name][bs].append(timed(name, bs, n))
    result = {"torch": torch.__version__, "threads": args.threads, "rounds": args.rounds,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)], "variants": {}}
    for name in names:
        result["variants"][name] = {
            str(bs): {"wall_qps_median": round(float(np.median([w for w, _ in v])), 1),
                      "cpu_qps_median": round(float(np.median([c for _, c in v])), 1),
                      "wall_qps": [round(w, 1) for w, _ in v], "cpu_qps": [round(c, 1) for _, c in v]}
            for bs, v in rows[name].items()}
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
