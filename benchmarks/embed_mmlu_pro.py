"""Embed the question text of every MMLU-Pro question with MiniLM through the on-disk cache.

Warms ``<repo>/.rgd/cache/embeddings`` (or ``$RGD_HOME/cache/embeddings``) so later runs read the vectors
instead of recomputing them. Prints the wall time, and the hit/miss counts.

    python benchmarks/embed_mmlu_pro.py [--data /work/shared/data/mmlu_pro] [--device cpu]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.data.jsonl import read_jsonl  # noqa: E402
from rgd.embedding import CachedEmbedder, SentenceTransformerEmbedder  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "mmlu_pro"


def cache_dir() -> Path:
    home = os.environ.get("RGD_HOME")
    return (Path(home) if home else REPO / ".rgd") / "cache" / "embeddings"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MMLU-Pro directory (holds questions.jsonl.gz)")
    ap.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    path = args.data / "questions.jsonl.gz"
    if not path.is_file():
        sys.exit(f"no MMLU-Pro questions at {path}")
    texts = [obj["question"] for _, obj in read_jsonl(path)]

    embedder = CachedEmbedder(
        SentenceTransformerEmbedder(device=args.device, batch_size=args.batch_size, show_progress=True), cache_dir()
    )
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    wall = time.perf_counter() - start
    print(
        f"embedded {len(texts)} questions -> {vectors.shape} {vectors.dtype} in {wall:.1f} s "
        f"(cache hits {embedder.hits}, computed {embedder.misses}); cache: {cache_dir()}"
    )


if __name__ == "__main__":
    main()
