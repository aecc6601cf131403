"""Live label-free monitoring (issue 24.3): the gateway in this process, in front of fake upstream processes on
loopback. The sampled share, the bounds (rate, concurrency, budget), a slow or failing shadow upstream that never
slows or fails a user's request, ``/v1/rgd/monitor``'s per-cluster estimates and the Prometheus scrape."""

from __future__ import annotations

import asyncio
import re
import time

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")

from rgd.errors import ParameterError  # noqa: E402
from rgd.routers.skill_clusters import skill_clusters  # noqa: E402
from rgd.serving.app import create_app  # noqa: E402
from rgd.serving.config import parse_gateway_config  # noqa: E402
from tests.rgd.serving.fake_upstream import UpstreamProcess  # noqa: E402
from tests.rgd.serving.gateway_process import chat_body  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS, SUBJECT_WORDS, fit_bundle, question_text  # noqa: E402

OPTIONS = "\nA. first\nB. second\nC. third\nD. fourth"
BIO = "which enzyme binds the cell membrane protein?"


class Source:
    """A registry of one version: the bundle, as the gateway's RouterSource."""

    name = "monitor-test-router"

    def __init__(self, bundle) -> None:
        self.bundle = bundle

    def current_version(self) -> str:
        return "1"

    def load(self, version: str):
        return self.bundle


@pytest.fixture(scope="module")
def upstreams():
    procs = {m: UpstreamProcess(m, answer="B") for m in MODELS}
    yield procs
    for p in procs.values():
        p.kill()


@pytest.fixture
def pool(upstreams):
    for up in upstreams.values():
        up.control(mode="ok", latency_ms=0, answer="B")
    return upstreams


@pytest.fixture(scope="module")
def bundle():
    return fit_bundle("cascal")


def _config(upstreams, **monitoring):
    return parse_gateway_config({
        "pool": [{"name": n, "base_url": u.base_url, "timeout_s": 5.0} for n, u in upstreams.items()],
        "auth": {"required": False}, "rate_limit": {"requests_per_s": 0.0},
        # every drawn request shadowed unless a test sets a bound: on a loaded machine the shadow calls of earlier
        # requests can still be in flight when the next is drawn, and the default 8 slots would skip it
        "monitoring": {"refresh_s": 60.0, "max_concurrency": 64, **monitoring}})


def serve(bundle, config, scenario):
    """Run ``scenario(gateway, client)`` against the app (its lifespan run, the router loaded)."""

    async def main():
        app = create_app(config, Source(bundle))
        async with app.router.lifespan_context(app):
            gw = app.state.gateway
            while gw.holder.current is None:
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw",
                                         timeout=30) as client:
                return await scenario(gw, client)

    return asyncio.run(main())


async def _settle(gw, timeout_s: float = 10.0) -> None:
    """Wait until every shadow task has finished."""
    deadline = time.monotonic() + timeout_s
    while gw.shadow.tasks and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def _questions(n: int, seed: int = 1, options: bool = False) -> list[str]:
    rng = np.random.default_rng(seed)
    subjects = sorted(SUBJECT_WORDS)
    return [question_text(subjects[i % 3], rng) + (OPTIONS if options else "") for i in range(n)]


# ---------------------------------------------------------------------------------------------- the config
def test_monitoring_is_on_at_two_percent_by_default_and_its_fields_are_checked():
    pool = [{"name": "a", "base_url": "http://127.0.0.1:1/v1"}]
    spec = parse_gateway_config({"pool": pool}).monitoring
    assert spec.share == 0.02 and spec.shadow_models == 2 and spec.enabled
    assert not parse_gateway_config({"pool": pool, "monitoring": {"share": 0}}).monitoring.enabled
    for bad, field in (({"shares": 0.1}, "monitoring.shares"), ({"share": 1.5}, "monitoring.share"),
                       ({"max_concurrency": 0}, "monitoring.max_concurrency"), ({"share": "2%"}, "monitoring.share")):
        with pytest.raises(ParameterError, match=re.escape(field)):
            parse_gateway_config({"pool": pool, "monitoring": bad}, "serve.yaml")


# ---------------------------------------------------------------------------------------------- sampling, bounds
def test_the_shadowed_share_is_the_configured_one_and_each_goes_to_the_next_models(bundle, pool):
    n, share = 300, 0.1

    async def scenario(gw, client):
        before = {m: u.stats()["requests"] for m, u in pool.items()}
        for q in _questions(n):
            assert (await client.post("/v1/chat/completions", content=chat_body(q))).status_code == 200
        await _settle(gw)
        after = {m: u.stats()["requests"] for m, u in pool.items()}
        return gw.shadow.report(), sum(after.values()) - sum(before.values())

    report, upstream_calls = serve(bundle, _config(pool, share=share, seed=3, max_per_s=1000), scenario)
    shadowed = report["shadow"]["requests"]
    sd = (n * share * (1 - share)) ** 0.5
    assert abs(shadowed - n * share) <= 3 * sd, shadowed  # seeded: the same count each run
    assert report["shadow"]["calls"] == 2 * shadowed and upstream_calls == n + 2 * shadowed
    assert report["shadow"]["share_of_upstream_calls"] == pytest.approx(2 * shadowed / (n + 2 * shadowed))
    assert report["requests"] == n and sum(r["shadowed"] for r in report["clusters"]) == shadowed
    assert sum(report["shadow"]["skipped"].values()) == 0


def test_a_slow_shadow_upstream_adds_no_latency_and_the_concurrency_bound_holds(bundle, pool):
    async def scenario(gw, client):
        r = await client.post("/v1/chat/completions", content=chat_body(BIO))
        first, *rest = r.headers["x-rgd-ranking"].split(",")
        for m in rest:
            pool[m].control(latency_ms=600)
        await _settle(gw)
        seconds = []
        for _ in range(12):
            t = time.perf_counter()
            r = await client.post("/v1/chat/completions", content=chat_body(BIO))
            seconds.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.headers["x-rgd-model"] == first
        peak = gw.shadow.peak_in_flight
        await _settle(gw)
        return seconds, peak, gw.shadow.report()

    seconds, peak, report = serve(bundle, _config(pool, share=1.0, max_concurrency=4, max_per_s=1000), scenario)
    assert max(seconds) < 0.3, seconds  # the shadow calls take 600 ms each
    assert peak <= 4
    assert report["shadow"]["skipped"]["concurrency"] >= 8  # two requests' shadows fill the 4 slots for 600 ms
    assert report["shadow"]["in_flight"] == 0


def test_a_failing_shadow_upstream_never_fails_a_user_request_and_is_counted(bundle, pool):
    async def scenario(gw, client):
        r = await client.post("/v1/chat/completions", content=chat_body(BIO))
        first, *rest = r.headers["x-rgd-ranking"].split(",")
        await _settle(gw)
        for m in rest:
            pool[m].control(mode="error500")
        statuses = [(await client.post("/v1/chat/completions", content=chat_body(BIO))).status_code
                    for _ in range(10)]
        await _settle(gw)
        circuits = {m: gw.upstreams[m].breaker.state for m in rest}
        return statuses, rest, circuits, (await client.get("/metrics")).text

    statuses, rest, circuits, metrics = serve(bundle, _config(pool, share=1.0, max_per_s=1000), scenario)
    assert statuses == [200] * 10
    assert set(circuits.values()) == {"closed"}  # shadow failures leave the breakers to user traffic
    failed = sum(float(m.group(1)) for m in re.finditer(r'rgd_gateway_shadow_calls_total\{model="[^"]+",'
                                                        r'result="5xx"\} (\S+)', metrics))
    assert failed == 20  # 10 requests after the first, 2 shadow models each


def test_the_budget_and_the_rate_bound_the_shadow_calls(bundle, pool):
    async def scenario(gw, client):
        for q in _questions(12):
            await client.post("/v1/chat/completions", content=chat_body(q))
        await _settle(gw)
        return gw.shadow.report()

    report = serve(bundle, _config(pool, share=1.0, budget_calls=6, max_per_s=1000), scenario)
    assert report["shadow"]["calls"] == 6 and report["shadow"]["requests"] == 3
    assert report["shadow"]["skipped"]["budget"] == 9 and report["shadow"]["budget_left"] == 0

    t = time.perf_counter()
    report = serve(bundle, _config(pool, share=1.0, max_per_s=1.0), scenario)
    elapsed = time.perf_counter() - t
    assert report["shadow"]["requests"] <= 1 + int(elapsed)  # a burst of 1, then 1 a second
    assert report["shadow"]["skipped"]["rate"] == 12 - report["shadow"]["requests"]


def _boost_run(bundle, pool, evidence: float) -> dict:
    """400 requests at share 0.01 with a boost to every request, the sequential test's evidence held at
    ``evidence`` (its reference is never complete, so nothing moves it)."""

    async def scenario(gw, client):
        await client.post("/v1/chat/completions", content=chat_body(BIO))  # the served version's state
        gw.shadow.state.sequential.evidence = evidence
        for q in _questions(400):
            assert (await client.post("/v1/chat/completions", content=chat_body(q))).status_code == 200
        await _settle(gw)
        return gw.shadow.report()

    drift = {"reference_requests": 100_000}
    return serve(bundle, _config(pool, share=0.01, seed=3, max_per_s=1000, boost_share=1.0, drift=drift), scenario)


def test_the_boost_raises_the_share_while_a_drop_builds_and_keeps_the_shadow_calls_within_their_cap(bundle, pool):
    quiet, building = _boost_run(bundle, pool, 0.0)["shadow"], _boost_run(bundle, pool, 5.0)["shadow"]
    assert quiet["boosted"] == 0 and not quiet["boosting"] and quiet["skipped"]["share_cap"] == 0
    assert building["boosting"] and building["boosted"] >= 5 and building["skipped"]["share_cap"] > 300
    assert building["requests"] == quiet["requests"] + building["boosted"]  # the same draws, and the boosted ones
    # the cap: each upstream call earns 0.05 / 0.95 of a shadow call; the boost never spends more
    assert building["share_of_upstream_calls"] <= 0.05 < 3 * quiet["share_of_upstream_calls"]


# ---------------------------------------------------------------------------------------------- the estimates
def test_the_monitor_endpoint_gives_per_cluster_estimates_and_the_metrics_show_them(bundle, pool):
    """Every model answers B but the algebra expert, which answers D: where it is routed, its answer disagrees
    with both shadow answers, and its cluster's estimated accuracy is low; elsewhere it is high."""
    pool["math-expert"].control(answer="D")
    questions = _questions(60, options=True)

    async def scenario(gw, client):
        routed = []
        for q in questions:
            r = await client.post("/v1/chat/completions", content=chat_body(q))
            routed.append(r.headers["x-rgd-model"])
        await _settle(gw)
        doc = (await client.get("/v1/rgd/monitor", params={"refresh": "true"})).json()
        return routed, doc, (await client.get("/metrics")).text

    routed, doc, metrics = serve(bundle, _config(pool, share=1.0, max_per_s=1000, min_requests=20), scenario)
    clusters = skill_clusters(bundle.router, bundle.embedder.embed(questions)).tolist()
    by_cluster = {row["cluster"]: row for row in doc["clusters"]}
    assert doc["router_version"] == "1" and doc["requests"] == 60 and doc["estimate"]["estimator"] == "truth"
    assert {str(c) for c in clusters} == set(by_cluster)
    for c in set(clusters):
        mine = [m for m, k in zip(routed, clusters) if k == c]
        row = by_cluster[str(c)]
        assert row["requests"] == row["shadowed"] == len(mine)
        if set(mine) == {"math-expert"}:
            assert row["agreement"] == 0.0 and row["majority_agreement"] == 0.0 and row["estimated_accuracy"] < 0.5
        elif "math-expert" not in mine:
            assert row["majority_agreement"] == 1.0 and row["estimated_accuracy"] > 0.5
    assert "math-expert" in routed and set(routed) - {"math-expert"}  # both kinds of cluster were seen
    for name in ("estimated_accuracy", "agreement", "requests", "shadowed", "majority_agreement"):
        for c in set(clusters):
            assert re.search(rf'^rgd_gateway_monitor_{name}\{{cluster="{c}"\}} ', metrics, re.M), (name, c)
    assert re.search(r'^rgd_gateway_monitor_estimated_accuracy_overall\{estimator="truth"\} ', metrics, re.M)
    assert re.search(r"^rgd_gateway_monitor_shadow_share [0-9.]+", metrics, re.M)


def test_out_of_distribution_requests_are_counted_per_cluster_and_no_text_is_kept(bundle, pool):
    marker = "zzqx unseen words vvkw"

    async def scenario(gw, client):
        for q in [*_questions(9), marker, f"{marker} again", f"{marker} thrice"]:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await _settle(gw)
        await gw.shadow.refresh()
        return gw.shadow.report(), gw.shadow.state

    report, state = serve(bundle, _config(pool, share=1.0, max_per_s=1000), scenario)
    assert report["out_of_distribution_share"] == pytest.approx(3 / 12)
    assert sum(r["out_of_distribution_share"] * r["requests"] for r in report["clusters"]) == pytest.approx(3)

    def strings(obj, seen=None):
        seen = set() if seen is None else seen
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                yield from strings(k, seen)
                yield from strings(v, seen)
        elif isinstance(obj, (list, tuple, set, frozenset)) or hasattr(obj, "__iter__") and hasattr(obj, "maxlen"):
            for v in obj:
                yield from strings(v, seen)
        elif hasattr(obj, "__dict__"):
            yield from strings(vars(obj), seen)

    assert not [s for s in strings(state) if "zzqx" in s or "enzyme" in s]  # neither the questions nor answers
    assert not [s for s in strings(state) if "thinks" in s]


# ---------------------------------------------------------------------------------------------- drift (24.4)
def _biology(seed: int, n: int = 60) -> list[str]:
    rng = np.random.default_rng(seed)
    return [question_text("biology", rng) + OPTIONS for _ in range(n)]


async def _send_routed(client, questions) -> set[str]:
    """Send each question (top-1); the models that answered them."""
    return {(await client.post("/v1/chat/completions", content=chat_body(q))).headers["x-rgd-model"]
            for q in questions}


def test_a_silently_degraded_routed_model_raises_an_alarm_and_starts_the_retraining_command(bundle, pool, tmp_path):
    import sys

    marker = tmp_path / "retrained"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('retrain')"]
    bio = _biology(4)

    async def scenario(gw, client):
        routed = await _send_routed(client, bio[:30])
        await _settle(gw)
        await gw.shadow.refresh()
        before = list(gw.shadow.alarms)
        for m in routed:  # the routed model is replaced by one that answers otherwise
            pool[m].control(answer="D")
        for q in bio[30:]:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await _settle(gw)
        doc = (await client.get("/v1/rgd/monitor", params={"refresh": "true"})).json()
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return before, doc, (await client.get("/metrics")).text

    drift = {"reference_requests": 30, "recent_requests": 30, "retrain_command": command}
    before, doc, metrics = serve(bundle, _config(pool, share=1.0, max_per_s=1000, min_requests=10, drift=drift),
                                 scenario)
    assert before == []
    [alarm] = [a for a in doc["alarms"] if a["kind"] == "accuracy_drop"]
    assert alarm["change"] < -0.3 and alarm["router_version"] == "1" and alarm["retrain"]["command"] == command
    assert marker.read_text() == "retrain"
    assert re.search(r'^rgd_gateway_monitor_alarms_total\{kind="accuracy_drop"\} 1\.0', metrics, re.M)
    [agreement] = [a for a in doc["alarms"] if a["kind"] == "agreement_drop"]  # the routed answer lost its majority
    assert agreement["reference"] == 1.0 and agreement["recent"] == 0.0


def test_the_sequential_test_alarms_at_the_shadowed_requests_themselves_without_an_estimate(bundle, pool):
    bio = _biology(5)

    async def scenario(gw, client):
        routed = await _send_routed(client, bio[:30])
        await _settle(gw)
        quiet = gw.shadow.report()
        for m in routed:  # the routed model now answers otherwise: its answer loses the plurality
            pool[m].control(answer="D")
        for q in bio[30:]:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await _settle(gw)
        return quiet, gw.shadow.report(), (await client.get("/metrics")).text

    quiet, report, metrics = serve(bundle, _config(pool, share=1.0, max_per_s=1000,
                                                   drift={"reference_requests": 30}), scenario)
    assert quiet["alarms"] == [] and quiet["sequential"]["reference_plurality"] == pytest.approx(31 / 32)
    assert report["estimate"] is None  # never refreshed: the sequential test needs no estimate
    [alarm] = [a for a in report["alarms"] if a["kind"] == "agreement_cusum"]
    assert alarm["recent"] == 0.0 and alarm["evidence"] >= 9.0 and alarm["n_recent"] <= 6
    assert re.search(r'^rgd_gateway_monitor_alarms_total\{kind="agreement_cusum"\} 1\.0', metrics, re.M)
    assert re.search(r"^rgd_gateway_monitor_sequential_evidence [0-9.]+", metrics, re.M)


def test_a_rise_of_out_of_distribution_requests_raises_an_alarm_once(bundle, pool):
    async def scenario(gw, client):
        for q in _questions(20) + [f"zzqx vvkw unseen {i}" for i in range(20)]:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await gw.shadow.refresh()
        await gw.shadow.refresh()  # within the cooldown: not raised again
        return gw.shadow.report()

    drift = {"ood_requests": 20, "ood_rise": 0.3}
    report = serve(bundle, _config(pool, share=0.0, drift=drift), scenario)
    alarms = {a["kind"]: a for a in report["alarms"]}
    assert sorted(alarms) == ["ood_rise", "similarity_drop"]  # each once; the unseen questions' similarity is 0
    alarm = alarms["ood_rise"]
    assert alarm["reference"] == 0.0 and alarm["recent"] == 1.0
    assert "retrain" not in alarm
    assert alarms["similarity_drop"]["recent"] == 0.0 < alarms["similarity_drop"]["reference"]


def test_requests_less_like_the_training_questions_raise_a_similarity_alarm_before_any_is_out_of_distribution(
        bundle, pool):
    from rgd.serving.drift import SIMILARITY_DROP

    # each recent question mixes the words of two training questions (of two subjects): less like any one of
    # them; those still above the out-of-distribution threshold are sent
    qs = _questions(300, seed=2)
    mixed = [" ".join(qs[i].split()[::2] + qs[i + 1].split()[1::2]) for i in range(0, 298, 2)]
    seen = bundle.out_of_distribution(bundle.embedder.embed(mixed))
    keep = [q for q, far in zip(mixed, seen.out_of_distribution) if not far][:60]
    assert len(keep) == 60

    async def scenario(gw, client):
        for q in _questions(60) + keep:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await gw.shadow.refresh()
        return gw.shadow.report()

    report = serve(bundle, _config(pool, share=0.0, drift={"ood_requests": 60, "z": 3.0}), scenario)
    [alarm] = report["alarms"]
    assert alarm["kind"] == SIMILARITY_DROP and alarm["recent"] < alarm["reference"] and alarm["z"] >= 3.0
    assert report["out_of_distribution_share"] == 0.0  # no request was far enough to be flagged on its own
    sim = report["training_similarity"]
    assert sim["reference_requests"] == sim["recent_requests"] == 60
    assert sim["recent_median"] == pytest.approx(alarm["recent"]) and sim["reference_median"] == pytest.approx(alarm["reference"])


def test_out_of_distribution_questions_are_kept_only_where_the_config_allows_and_go_to_the_retraining(
        bundle, pool, tmp_path):
    import json
    import sys

    copy = tmp_path / "ood.jsonl"
    command = [sys.executable, "-c", f"import os, shutil; shutil.copy(os.environ['RGD_OOD_QUESTIONS_FILE'], "
                                     f"{str(copy)!r})"]
    questions = _questions(20) + [f"zzqx vvkw unseen {i}" for i in range(20)]

    async def scenario(gw, client):
        for q in questions:
            await client.post("/v1/chat/completions", content=chat_body(q))
        await gw.shadow.refresh()
        deadline = time.monotonic() + 20
        while gw.shadow.tasks and time.monotonic() < deadline:  # the retraining command ends
            await asyncio.sleep(0.05)
        return (await client.get("/v1/rgd/monitor", params={"ood_questions": "true"})).json()

    drift = {"ood_requests": 20, "ood_rise": 0.3, "retrain_command": command}
    kept = serve(bundle, _config(pool, share=0.0, keep_ood_questions=3, drift=drift), scenario)
    assert [row["question"] for row in kept["ood_questions"]] == questions[-3:] and kept["ood_questions_kept"] == 3
    assert [json.loads(line)["question"] for line in copy.read_text().splitlines()] == questions[-3:]
    assert kept["alarms"][0]["retrain"]["returncode"] == 0
    # the same drift raised a second alarm (the requests' similarity) in the same refresh: no second retraining
    assert [a["kind"] for a in kept["alarms"]] == ["ood_rise", "similarity_drop"]
    assert kept["alarms"][1]["retrain"]["skipped"].startswith("already started")
    default = serve(bundle, _config(pool, share=0.0, drift=drift), scenario)
    assert default["ood_questions"] == [] and default["ood_questions_kept"] == 0
    assert "ood_questions_file" not in default["alarms"][0]["retrain"]
