"""TF-IDF embedding time for the small batches a gateway embeds (1, 8 and 64 questions), in microseconds.

    python benchmarks/tfidf_embed_speed.py [--repeat 300]

The embedder is the one of the gateway benchmark's TF-IDF bundle (the synthetic pool of the tracking tests);
the questions are the gateway benchmark's. Best of three timing loops of ``--repeat`` calls each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.gateway_load import questions  # noqa: E402
from tests.rgd.tracking.synthetic import fit_bundle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=300)
    args = ap.parse_args()
    embedder = fit_bundle("cascal").embedder
    texts = questions(2000)
    result = {}
    for size in (1, 8, 64):
        batches = [texts[i * size % 1900: i * size % 1900 + size] for i in range(args.repeat)]
        embedder.embed(batches[0])
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for batch in batches:
                embedder.embed(batch)
            best = min(best, (time.perf_counter() - start) / args.repeat)
        result[f"batch_{size}_us"] = round(best * 1e6, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
