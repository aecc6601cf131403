"""Drift alarms on their own (rgd.serving.drift): a real change with enough evidence alarms, noise does not."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_a_drop_of_the_requests_training_similarity_alarms_with_enough_evidence_and_counts_ties_half():
    import scipy.stats

    from rgd.serving.drift import SIMILARITY_DROP, similarity_drop

    rng = np.random.default_rng(0)
    ref = np.round(rng.normal(0.60, 0.10, 1000), 2)  # rounded: many ties
    same = np.round(rng.normal(0.60, 0.10, 1000), 2)
    lower = np.round(rng.normal(0.56, 0.10, 1000), 2)  # a new subject: the whole distribution a little lower
    assert similarity_drop(ref, same, 0.05, 3.5) is None
    alarm = similarity_drop(ref, lower, 0.05, 3.5)
    assert alarm.kind == SIMILARITY_DROP and alarm.recent < alarm.reference and alarm.z > 3.5
    u = scipy.stats.mannwhitneyu(ref, lower).statistic / (len(ref) * len(lower))  # the same statistic, ties half
    assert alarm.z == pytest.approx((u - 0.5) / np.sqrt((2001) / (12 * 1000 * 1000)))
    assert similarity_drop(ref, lower, 0.2, 3.5) is None  # a tilt below the threshold is not an alarm
    assert similarity_drop(ref[:50], lower[:1], 0.05, 3.5) is None  # too few
    assert similarity_drop(ref, np.r_[lower, np.nan], 0.05, 3.5).n_recent == 1000  # NaN: no coverage


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


# ------------------------------------------------------------------ the sequential test (agreement_cusum)
def _cusum():
    from rgd.serving.config import DriftSpec
    from rgd.serving.drift import PluralityCusum

    d = DriftSpec()
    return PluralityCusum(d.reference_requests, d.sequential_drop, d.sequential_threshold)


def _first_sequential_alarm(stream: np.ndarray):
    """(how many values until the default sequential test first alarms, the alarm), or (None, None)."""
    test = _cusum()
    for i, x in enumerate(stream):
        alarm = test.add(bool(x))
        if alarm is not None:
            return i + 1, alarm
    return None, None


def test_the_sequential_test_is_quiet_on_long_streams_without_drift_whatever_the_plurality_rate():
    from rgd.serving.config import DriftSpec

    n_ref = DriftSpec().reference_requests
    for p in (0.4, 0.65, 0.85):  # the threshold is in nats: the same false-alarm rate at any reference rate
        alarms = sum(_first_sequential_alarm(np.random.default_rng(seed).binomial(1, p, n_ref + 1000))[0] is not None
                     for seed in range(100))  # 1,000 shadowed requests after the reference: ~50,000 at share 0.02
        assert alarms <= 10, (p, alarms)  # measured over 200 seeds: 9, 6 and 9 of 200


def test_the_sequential_test_detects_a_real_drop_within_a_hundred_shadowed_requests():
    from rgd.serving.drift import AGREEMENT_CUSUM

    delays = []
    for seed in range(100):
        rng = np.random.default_rng(1000 + seed)
        stream = np.r_[rng.binomial(1, 0.65, 400), rng.binomial(1, 0.35, 300)]  # MMLU-Pro's replacement: 0.64 -> 0.36
        end, alarm = _first_sequential_alarm(stream)
        delays.append(None if end is None or end <= 400 else end - 400)
        if end is not None and end > 400:
            assert alarm.kind == AGREEMENT_CUSUM and alarm.recent < alarm.reference and alarm.evidence >= 9.0
    found = [x for x in delays if x is not None]
    assert sum(x <= 100 for x in found) >= 90, sorted(found)  # measured: 98 of 100 (one alarm before the drop)
    assert np.median(found) <= 60  # measured: 45


def test_the_sequential_test_starts_after_its_reference_and_again_from_zero_after_an_alarm():
    test = _cusum()
    for _ in range(test.reference_requests):
        assert test.add(True) is None and test.evidence == 0.0
    assert test.p0 == (test.reference_requests + 1) / (test.reference_requests + 2)
    misses, alarm = 0, None
    while alarm is None and misses < 50:
        misses += 1
        alarm = test.add(False)
    assert alarm is not None and alarm.n_recent == misses and alarm.recent == 0.0 and test.evidence == 0.0
    assert test.add(True) is None and test.evidence == 0.0  # a routed answer with the plurality: no evidence
