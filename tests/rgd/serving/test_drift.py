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
