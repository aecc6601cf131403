"""The gateway's hot path kept lean: the prompt cache, a repeated question embedded once, the request body
encoded once, orjson replies, the metrics' label lookups, one BLAS thread."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from rgd.serving.metrics import GatewayMetrics
from rgd.serving.prompt_cache import PromptCache
from rgd.serving.reload import LoadedRouter
from rgd.serving.upstream import OutgoingBody
from tests.rgd.tracking.synthetic import fit_bundle

QUESTIONS = ["which enzyme binds the cell membrane protein?", "what treaty ended the medieval dynasty war?",
             "explain the quadratic polynomial root factor?"]


def test_the_prompt_cache_drops_the_least_recently_used_and_counts_lookups():
    seen = []
    cache = PromptCache(2, seen.append)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    assert seen == [True, False, True, True]
    off = PromptCache(0)
    off.put("a", 1)
    assert off.get("a") is None and len(off) == 0


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _counting_router(cache_size: int) -> tuple[LoadedRouter, CountingEmbedder]:
    bundle = fit_bundle("cascal")
    counting = CountingEmbedder(bundle.embedder)
    bundle.embedder = counting
    metrics = GatewayMetrics()
    return LoadedRouter("1", bundle, metrics=metrics, prompt_cache_size=cache_size), counting


def test_a_repeated_prompt_is_ranked_from_the_cache_the_same_as_the_first_time():
    router, counting = _counting_router(16)

    async def main():
        first = await asyncio.gather(*(router.rank(q) for q in QUESTIONS))
        again = await asyncio.gather(*(router.rank(q) for q in QUESTIONS))
        router.close()
        return first, again

    first, again = asyncio.run(main())
    assert [r.models for r in again] == [r.models for r in first]
    assert [r.similarity for r in again] == [r.similarity for r in first]
    assert sum(len(c) for c in counting.calls) == len(QUESTIONS)  # embedded once each
    text = router.metrics.render().decode()
    assert "rgd_gateway_prompt_cache_hits_total 3.0" in text and "rgd_gateway_prompt_cache_misses_total 3.0" in text


def test_without_the_cache_every_request_is_embedded_but_one_batch_embeds_a_question_once():
    router, counting = _counting_router(0)
    rows = router._score_batch([QUESTIONS[0], QUESTIONS[1], QUESTIONS[0]])
    assert counting.calls == [[QUESTIONS[0], QUESTIONS[1]]]
    np.testing.assert_array_equal(rows[0][0], rows[2][0])

    async def twice():
        out = [await router.rank(QUESTIONS[2]), await router.rank(QUESTIONS[2])]
        router.close()
        return out

    a, b = asyncio.run(twice())
    assert a.models == b.models and counting.calls[1:] == [[QUESTIONS[2]], [QUESTIONS[2]]]


@pytest.mark.parametrize("request_doc", [
    {"model": "rgd-router", "messages": [{"role": "user", "content": "café?"}], "temperature": 0.5},
    {"messages": [], "stream": True},
    {"model": "rgd-router"},
    {},
])
def test_the_body_is_encoded_once_and_each_upstream_gets_its_own_model_id(request_doc):
    body = OutgoingBody(request_doc)
    for model in ("m-1", 'odd "quoted" id'):
        sent = json.loads(body.for_model(json.dumps(model).encode()))
        assert sent == {**request_doc, "model": model}
        assert list(sent)[0] == "model"  # first, so it is never there twice


def test_gateway_replies_encode_numpy_scalars_as_json_did():
    from rgd.serving.app import with_field

    out = with_field(b'{"choices": []}', {"choices": []}, "rgd", {"training_similarity": np.float64(0.25)})
    assert json.loads(out) == {"choices": [], "rgd": {"training_similarity": 0.25}}


def test_a_labelled_metric_is_looked_up_once():
    m = GatewayMetrics()
    child = m.child(m.requests, "top1", 200)
    assert m.child(m.requests, "top1", 200) is child and m.child(m.requests, "top1", 400) is not child
    child.inc()
    assert 'rgd_gateway_requests_total{mode="top1",status="200"} 1.0' in m.render().decode()


def test_a_served_router_leaves_numpy_one_blas_thread():
    from threadpoolctl import threadpool_info

    LoadedRouter("1", fit_bundle("cascal")).close()
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
