"""TF-IDF embedding time for the small batches a gateway embeds (1, 8 and 64 questions), in microseconds.

    python benchmarks/tfidf_embed_speed.py [--repeat 300]

The embedder is the one of the gateway benchmark's TF-IDF bundle (the synthetic pool of the tracking tests);
the questions are the gateway benchmark's. Best of three timing loops of ``--repeat`` calls each. ``route_*``
times the gateway's whole call per batch (``LoadedRouter._score_batch``: embed, CASCAL scores, warnings).
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
    from rgd.serving.reload import LoadedRouter

    bundle = fit_bundle("cascal")
    served = LoadedRouter("1", bundle)
    texts = questions(2000)
    result = {}
    for label, call in (("batch", bundle.embedder.embed), ("route", served._score_batch)):
        for size in (1, 8, 64):
            batches = [texts[i * size % 1900: i * size % 1900 + size] for i in range(args.repeat)]
            call(batches[0])
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for batch in batches:
                    call(batch)
                best = min(best, (time.perf_counter() - start) / args.repeat)
            result[f"{label}_{size}_us"] = round(best * 1e6, 1)
    served.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
