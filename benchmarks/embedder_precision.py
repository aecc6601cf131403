"""MiniLM in bfloat16 vs float32: speed, and whether routing changes (the gateway's ``embedder_precision``).

    python benchmarks/embedder_precision.py [--data ../shared/data/mmlu_pro] [--cache DIR] [--output FILE]
        [--onnx] [--chunk N] [--limit N]

More ways, under ``"variants"`` in the output, each against float32 and bfloat16: ``--onnx`` the onnx backend
(ONNX Runtime on the float32 weights, the gateway's ``embedder_backend``; needs the ``onnx`` extra); ``--chunk N``
bfloat16 with each batch of 64 sorted by length and run N at a time (the gateway's ``embedder_batch_size``).
``--limit`` takes the first N test questions only.

The routers are trained as the pipeline trains them, on float32 embeddings of the MMLU-Pro train split (read
from the embedding cache); the 3,609 test questions are then embedded in float32 and in bfloat16 (one torch
thread, batches of 64, as the gateway embeds), and each router ranks both. Reported: embedding time per
question, the cosine between the two vectors of each question, how often the first-ranked model (and the
whole top 3) is the same, and top-1 accuracy on the test split's true keys (reporting only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.consensus import ConsensusScorer  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.embedding.sentence import SentenceTransformerEmbedder  # noqa: E402
from rgd.evaluation.metrics import chosen_by  # noqa: E402
from rgd.routers.base import TrainingSet  # noqa: E402
from rgd.routers.registry import make_router  # noqa: E402
from rgd.workflow.recorded import embed_with  # noqa: E402


def timed_embed(embedder: SentenceTransformerEmbedder, texts: list[str]) -> tuple[np.ndarray, float]:
    embedder.embed(texts[:64])  # warm-up
    start = time.perf_counter()
    x = np.concatenate([embedder.embed(texts[i:i + 64]) for i in range(0, len(texts), 64)])
    return x, (time.perf_counter() - start) / len(texts)


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1)
    return {"min": float(cos.min()), "p01": float(np.quantile(cos, 0.01)), "median": float(np.median(cos))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--routers", nargs="+", default=["truth_cluster", "cascal"])
    ap.add_argument("--output", type=Path, default=None)
    ap.add_argument("--onnx", action="store_true", help="also the onnx backend (the 'onnx' extra)")
    ap.add_argument("--chunk", type=int, default=None, help="also bfloat16 in chunks of N (sorted by length)")
    ap.add_argument("--limit", type=int, default=None, help="the first N test questions only")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    data = load_recorded(args.data)
    train_q, train = data.part("train")
    test_q, test = data.part("test")
    if args.limit is not None:
        test_q, test = test_q[:args.limit], test.take(np.arange(min(args.limit, test.n_questions)))
    texts = [q.text for q in test_q]
    train_x, _ = embed_with("minilm", args.cache)([q.text for q in train_q], texts[:1])
    embedder = SentenceTransformerEmbedder(show_progress=False)
    x32, s32 = timed_embed(embedder, texts)
    embedder.precision = "bfloat16"
    x16, s16 = timed_embed(embedder, texts)
    variants = {}  # name -> (vectors, seconds a question)
    if args.chunk:
        embedder.batch_size = args.chunk
        variants[f"bfloat16_chunks_of_{args.chunk}"] = timed_embed(embedder, texts)
        embedder.batch_size = 64
    embedder.precision = "float32"
    if args.onnx:
        embedder.backend = "onnx"
        variants["onnx"] = timed_embed(embedder, texts)
    cos = np.sum(x32 * x16, axis=1)
    result = {
        "n_test": len(texts),
        "torch": torch.__version__,
        "ms_per_question": {"float32": 1e3 * s32, "bfloat16": 1e3 * s16},
        "cosine": {"min": float(cos.min()), "p01": float(np.quantile(cos, 0.01)), "median": float(np.median(cos))},
        "routers": {},
    }
    if variants:
        result["variants"] = {name: {"ms_per_question": 1e3 * sec, "cosine_to_float32": cosines(x32, x),
                                     "cosine_to_bfloat16": cosines(x16, x), "routers": {}}
                              for name, (x, sec) in variants.items()}
    consensus = ConsensusScorer().fit_score(train)
    blind = train.with_answers(np.full(train.n_questions, -1))
    for name in args.routers:
        router = make_router(name).fit(TrainingSet(blind, train_x, consensus))
        r32, r16 = router.rank(x32), router.rank(x16)
        result["routers"][name] = {
            "same_top1": float(np.mean(r32[:, 0] == r16[:, 0])),
            "same_top3_set": float(np.mean(np.all(np.sort(r32[:, :3], 1) == np.sort(r16[:, :3], 1), axis=1))),
            "top1_float32": float(np.mean(chosen_by(r32, test, 1)[0] == test.answers)),
            "top1_bfloat16": float(np.mean(chosen_by(r16, test, 1)[0] == test.answers)),
        }
        for variant, (x, _) in variants.items():
            rv = router.rank(x)
            result["variants"][variant]["routers"][name] = {
                "same_top1_as_float32": float(np.mean(r32[:, 0] == rv[:, 0])),
                "same_top1_as_bfloat16": float(np.mean(r16[:, 0] == rv[:, 0])),
                "same_ranking_as_float32": float(np.mean(np.all(r32 == rv, axis=1))),
                "same_ranking_as_bfloat16": float(np.mean(np.all(r16 == rv, axis=1))),
                "top1": float(np.mean(chosen_by(rv, test, 1)[0] == test.answers)),
            }
    print(json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
