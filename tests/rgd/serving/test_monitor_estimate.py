"""The monitor's label-free estimate on its own (rgd.serving.monitor): answers read as the product reads them, and
the routed choice's estimated accuracy per cluster against the accuracy the simulated answers actually had."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.serving.monitor import MAJORITY, TRUTH, Observation, estimate, observation

MODELS = ("routed-a", "routed-b", "s1", "s2", "s3", "s4")


def _reply(text: str) -> dict:
    return {"choices": [{"message": {"content": text}}]}


def test_an_observation_keeps_the_option_letters_of_a_multiple_choice_question():
    question = "Which one?\nA. x\nB. y\nC. z\nD. w"
    obs = observation(3, question, MODELS, "routed-a", {"routed-a": _reply("The answer is (C)."),
                                                        "s1": _reply("Answer: C"), "s2": _reply("no idea"),
                                                        "s3": None})
    assert obs == Observation(3, 4, 0, ((0, 2), (2, 2), (3, -1), (4, -1)))


def test_free_text_answers_are_compared_normalised():
    obs = observation(0, "What is the capital of France?", MODELS, "s1",
                      {"s1": _reply("Paris."), "s2": _reply("  paris "), "s3": _reply("Lyon"), "s4": _reply("")})
    assert obs.choices == ((2, 0), (3, 0), (4, 1), (5, -1)) and obs.n_options == 2 and obs.routed == 2


def _simulate(rng, n: int, cluster: int, routed: int, p_routed: float, p_shadow: float):
    """n observations: the routed model right with p_routed, two random shadow models with p_shadow; the wrong
    answers uniform over the other three options. Returns them and how often the routed model was right."""
    obs, right = [], 0
    for _ in range(n):
        truth = int(rng.integers(4))
        voters = [(routed, p_routed)] + [(int(m), p_shadow) for m in rng.choice([2, 3, 4, 5], 2, replace=False)]
        choices = []
        for m, p in voters:
            c = truth if rng.random() < p else int((truth + rng.integers(1, 4)) % 4)
            choices.append((m, c))
        right += choices[0][1] == truth
        obs.append(Observation(cluster, 4, routed, tuple(choices)))
    return obs, right / n


def test_the_truth_estimate_follows_the_routed_choices_real_accuracy_per_cluster():
    rng = np.random.default_rng(0)
    good, good_acc = _simulate(rng, 300, 0, 0, 0.85, 0.6)
    bad, bad_acc = _simulate(rng, 300, 1, 1, 0.35, 0.6)
    found = estimate(good + bad, len(MODELS), min_requests=50)
    assert found.estimator == TRUTH and found.error is None and found.shadowed == 600
    assert found.clusters[0].estimated_accuracy == pytest.approx(good_acc, abs=0.08)
    assert found.clusters[1].estimated_accuracy == pytest.approx(bad_acc, abs=0.12)
    assert found.overall.estimated_accuracy == pytest.approx((good_acc + bad_acc) / 2, abs=0.08)
    assert found.clusters[0].agreement > found.clusters[1].agreement


def test_below_min_requests_the_majority_stands_in():
    rng = np.random.default_rng(1)
    obs, _ = _simulate(rng, 20, 0, 0, 0.9, 0.9)
    found = estimate(obs, len(MODELS), min_requests=50)
    assert found.estimator == MAJORITY
    assert found.overall.estimated_accuracy == found.overall.majority_agreement
    one = [Observation(0, 4, 0, ((0, 1), (2, 1), (3, 2)))]  # the routed answer shared by one of the two others
    found = estimate(one, len(MODELS), min_requests=50)
    assert found.overall.agreement == 0.5 and found.overall.majority_agreement == 1.0


def test_without_options_a_named_letter_still_counts_before_the_words():
    obs = observation(0, "Which is it?", MODELS, "s1", {"s1": _reply("s1 thinks. The answer is (B)."),
                                                        "s2": _reply("s2 thinks. The answer is (B)."),
                                                        "s3": _reply("It is B, I think")})
    assert obs.choices == ((2, 0), (3, 0), (4, 1))


def test_a_new_router_version_starts_a_new_monitor_state():
    from prometheus_client import CollectorRegistry

    from rgd.serving.config import parse_gateway_config
    from rgd.serving.shadow import Shadow

    config = parse_gateway_config({"pool": [{"name": m, "base_url": "http://127.0.0.1:1/v1"} for m in MODELS]})
    shadow = Shadow(config.monitoring, {}, CollectorRegistry())
    for cluster in (0, 1, 1):
        shadow.seen("1", MODELS, cluster, cluster == 1, 1)
    assert shadow.state.version == "1" and shadow.state.requests == {0: 1, 1: 2}
    assert shadow.state.ood_share(1) == 1.0 and shadow.state.ood_share() == 2 / 3
    shadow.seen("2", MODELS, 0, False, 1)
    assert shadow.state.version == "2" and shadow.state.requests == {0: 1} and shadow.report()["requests"] == 1


def test_a_drawn_request_whose_response_is_never_sent_takes_no_shadow_slot():
    import asyncio

    from prometheus_client import CollectorRegistry

    from rgd.serving.config import parse_gateway_config
    from rgd.serving.shadow import Shadow
    from rgd.serving.upstream import OutgoingBody, Upstream, UpstreamReply

    config = parse_gateway_config({"pool": [{"name": m, "base_url": "http://127.0.0.1:1/v1", "timeout_s": 0.5}
                                            for m in MODELS], "monitoring": {"share": 1.0, "max_concurrency": 2}})
    upstreams = {u.name: Upstream(u, config.breaker) for u in config.pool}
    shadow = Shadow(config.monitoring, upstreams, CollectorRegistry())
    reply = UpstreamReply(200, b'{"choices": []}', "application/json", 0.01)
    shadow.seen("1", MODELS, 0, False, 1)
    for _ in range(5):  # drawn, but the client went away: the launchers never run
        assert shadow.sample(list(MODELS), MODELS[0], OutgoingBody({}), reply, "q", 0) is not None
    assert shadow.in_flight == 0 and shadow.budget_used == 0 and shadow.shadowed == 0

    async def sent():
        launch = shadow.sample(list(MODELS), MODELS[0], OutgoingBody({}), reply, "q", 0)
        await launch()
        taken = shadow.in_flight
        await asyncio.gather(*shadow.tasks)  # port 1 refuses: counted, never raised
        for up in upstreams.values():
            await up.aclose()
        return taken

    assert asyncio.run(sent()) == 2 and shadow.in_flight == 0 and shadow.shadow_calls == 2


def test_without_the_estimates_process_the_estimate_runs_on_a_thread(monkeypatch):
    import asyncio

    from prometheus_client import CollectorRegistry

    from rgd.serving.config import parse_gateway_config
    from rgd.serving.shadow import Shadow

    config = parse_gateway_config({"pool": [{"name": m, "base_url": "http://127.0.0.1:1/v1"} for m in MODELS]})
    shadow = Shadow(config.monitoring, {}, CollectorRegistry())

    def no_process():
        raise OSError("no semaphores here")

    monkeypatch.setattr(shadow, "_executor", no_process)
    shadow.seen("1", MODELS, 0, False, 1)
    shadow.state.add(Observation(0, 4, 0, ((0, 1), (2, 1), (3, 1))))
    asyncio.run(shadow.refresh())
    assert shadow.state.last.overall.majority_agreement == 1.0 and not shadow.state.stale


def test_training_voters_held_fixed_give_the_estimate_and_a_mismatch_refits():
    from rgd.serving.monitor import TRUTH_FIXED, TrainingVoters

    rng = np.random.default_rng(0)
    good, good_acc = _simulate(rng, 300, 0, 0, 0.85, 0.6)
    bad, bad_acc = _simulate(rng, 300, 1, 1, 0.35, 0.6)
    table = np.array([[0.85, 0.35, 0.6, 0.6, 0.6, 0.6]] * 2)
    for rho in (None, np.full(len(MODELS), 0.4)):
        found = estimate(good + bad, len(MODELS), min_requests=50, voters=TrainingVoters(table, rho))
        assert found.estimator == TRUTH_FIXED and found.error is None
        assert found.clusters[0].estimated_accuracy == pytest.approx(good_acc, abs=0.04)
        assert found.clusters[1].estimated_accuracy == pytest.approx(bad_acc, abs=0.06)
    # a model training trusted (0.85) that now answers at 0.35: judged by the shadows' fixed parameters, its own
    # P(right) is re-estimated from the window, so the estimate follows it down
    trusted = table.copy()
    trusted[:, 1] = 0.85
    held = estimate(bad, len(MODELS), min_requests=50, voters=TrainingVoters(trusted)).overall.estimated_accuracy
    assert held == pytest.approx(bad_acc, abs=0.05)
    # parameters for another pool, or without a row for an observed cluster: refitted, as without any
    for other in (table[:, :5], table[:1]):
        found = estimate(good + bad, len(MODELS), min_requests=50, voters=TrainingVoters(other))
        assert found.estimator == TRUTH
        assert found.overall.estimated_accuracy == estimate(good + bad, len(MODELS), 50).overall.estimated_accuracy
