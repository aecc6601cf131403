"""Drift alarms on their own (rgd.serving.drift): a real change with enough evidence alarms, noise does not."""

from __future__ import annotations

import numpy as np

from rgd.serving.drift import ACCURACY_DROP, OOD_RISE, accuracy_drop, ood_rise


def test_an_accuracy_drop_beyond_the_threshold_and_the_noise_alarms():
    rng = np.random.default_rng(0)
    same = rng.binomial(1, 0.8, 400).astype(float)
    assert accuracy_drop(same, 200, 200, 0.05, 3.0) is None
    dropped = np.r_[rng.binomial(1, 0.8, 200), rng.binomial(1, 0.5, 200)].astype(float)
    alarm = accuracy_drop(dropped, 200, 200, 0.05, 3.0)
    assert alarm.kind == ACCURACY_DROP and alarm.change < -0.2 and alarm.z >= 3.0
    assert accuracy_drop(dropped, 200, 200, 0.5, 3.0) is None  # a drop smaller than the threshold
    few = np.r_[rng.binomial(1, 0.8, 5), rng.binomial(1, 0.5, 5)].astype(float)
    assert accuracy_drop(few, 5, 5, 0.05, 3.0) is None  # too little evidence
    assert accuracy_drop(dropped[:300], 200, 200, 0.05, 3.0) is None  # the sides would overlap


def test_a_rise_of_the_out_of_distribution_share_alarms_with_enough_evidence():
    assert ood_rise(10, 1000, 14, 1000, 0.1, 3.0) is None
    alarm = ood_rise(10, 1000, 300, 1000, 0.1, 3.0)
    assert alarm.kind == OOD_RISE and abs(alarm.recent - 0.3) < 1e-9 and alarm.reference == 0.01
    assert ood_rise(0, 4, 2, 4, 0.1, 3.0) is None


def test_the_agreement_test_is_the_same_test_on_whether_the_routed_answer_was_the_plurality():
    from rgd.serving.drift import AGREEMENT_DROP

    rng = np.random.default_rng(2)
    major = np.r_[rng.binomial(1, 0.7, 200), rng.binomial(1, 0.3, 100)].astype(float)
    alarm = accuracy_drop(major, 200, 100, 0.10, 3.0, AGREEMENT_DROP)
    assert alarm.kind == AGREEMENT_DROP and alarm.reference > 0.6 and alarm.recent < 0.4


# ------------------------------------------------------------------ the shipped defaults, tested as they are run
# The gateway re-reads the tests after every estimate, at most once per new shadowed request: each stream below is
# checked after every one of its requests, the worst case of that repetition (benchmarks/drift_defaults.py is the
# same on the MMLU-Pro pack's and the simulated world's answers: benchmarks/README.md, issue 24.5, tenth session).

def _first_alarm(values: np.ndarray, threshold: float, start: int, recent: int | None = None,
                 z: float | None = None):
    """The first number of values after which the test (the defaults, or ``recent`` and ``z``) alarms; None."""
    from rgd.serving.config import DriftSpec

    d = DriftSpec()
    recent, z = recent or d.recent_requests, z or d.z
    for end in range(max(start, d.reference_requests + recent), len(values) + 1):
        if accuracy_drop(values[:end], d.reference_requests, recent, threshold, z) is not None:
            return end
    return None


def _streams(kind: str, seed: int):
    """(draw(mean, n)) per-request values of one kind: the estimate's probabilities (beta) or plurality flags."""
    rng = np.random.default_rng(seed)
    if kind == "accuracy":
        return lambda mean, n: rng.beta(2 * mean, 2 * (1 - mean), n)
    return lambda mean, n: rng.binomial(1, mean, n).astype(float)


def test_the_default_tests_rarely_alarm_on_a_long_stream_without_drift():
    from rgd.serving.config import DriftSpec

    d = DriftSpec()
    for kind, threshold in (("accuracy", d.accuracy_drop), ("agreement", d.agreement_drop)):
        alarms = 0
        for seed in range(100):  # 600 shadowed requests after the reference: ~30,000 requests at share 0.02
            draw = _streams(kind, seed)
            alarms += _first_alarm(draw(0.6, d.reference_requests + 600), threshold, d.reference_requests) is not None
        assert alarms <= 10, (kind, alarms)  # measured: 5 of 100 (accuracy), 4 (agreement)


def test_the_default_tests_alarm_on_a_25_point_drop_within_40_shadowed_requests():
    from rgd.serving.config import DriftSpec

    d = DriftSpec()
    delays, former = [], []
    for seed in range(100):
        draw = _streams("accuracy", seed)
        before = d.reference_requests + 200
        stream = np.r_[draw(0.6, before), draw(0.35, 200)]
        end = _first_alarm(stream, d.accuracy_drop, before + 1)
        delays.append(None if end is None else end - before)
        if seed < 20:  # the former defaults, recent 200 and z 3: the window must fill with the change
            end = _first_alarm(stream, d.accuracy_drop, before + 1, recent=200, z=3.0)
            former.append(None if end is None else end - before)
    assert sum(x is not None and x <= 40 for x in delays) >= 85  # measured: 95 of 100, the longest 54
    assert sum(x is not None and x <= 40 for x in former) <= 2  # measured: 0 of 20, 41-114


def test_the_shipped_gateway_config_lists_the_drift_defaults():
    import yaml

    from rgd.serving.config import DriftSpec
    from tests.paths import REPO_ROOT

    listed = yaml.safe_load((REPO_ROOT / "configs" / "serve" / "gateway.yaml").read_text())["monitoring"]["drift"]
    defaults = DriftSpec().model_dump()
    assert listed and all(defaults[key] == value for key, value in listed.items()), (listed, defaults)
