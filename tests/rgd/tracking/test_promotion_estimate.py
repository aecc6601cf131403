"""Promotion on the label-free estimate: compared only on the same held-out questions and pool."""

from __future__ import annotations

import pytest

mlflow = pytest.importorskip("mlflow")

from rgd.tracking import log_router, promote  # noqa: E402


def _log(bundle_dir, name: str, est: float, best_single: float, set_id: str):
    return log_router(bundle_dir, model_name=name,
                      metrics={"estimated_top1": est, "cascal.estimated_top1": est,
                               "best_single.estimated_top1": best_single},
                      tags={"test_set_id": "none (label-free)", "estimate_set_id": set_id, "label_free": "true"})


def _aliases(name: str) -> dict[str, str]:
    return {a: str(v) for a, v in mlflow.MlflowClient().get_registered_model(name).aliases.items()}


def test_estimated_metric_promotes_on_the_same_set_and_refuses_another(mlflow_home, bundle_dir):
    name = "estimated"
    v1 = _log(bundle_dir, name, 0.60, 0.50, "sha256:held-a")
    d1 = promote(name, v1.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert d1.promoted and "beats best_single" in d1.reason and _aliases(name)["champion"] == "1"
    # better on the same held-out questions and pool: promoted
    v2 = _log(bundle_dir, name, 0.65, 0.50, "sha256:held-a")
    d2 = promote(name, v2.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert d2.promoted and "beats the champion" in d2.reason and _aliases(name)["champion"] == "2"
    # estimated on other held-out questions (or another pool): never compared, not even forced
    v3 = _log(bundle_dir, name, 0.90, 0.50, "sha256:held-b")
    for force in (False, True):
        d3 = promote(name, v3.version, metric="estimated_top1", test_set_id="sha256:held-b", force=force,
                     must_beat=["best_single"])
        assert not d3.promoted and "held-out question set and pool" in d3.reason and "'sha256:held-a'" in d3.reason
    assert _aliases(name)["champion"] == "2"
    tags = mlflow.MlflowClient().get_model_version(name, v3.version).tags
    assert tags["promotion.decision"] == "refused" and tags["promotion.metric"] == "estimated_top1"
    # asked to compare on a set other than the one it was estimated on: refused with the reason
    d4 = promote(name, v3.version, metric="estimated_top1", test_set_id="sha256:held-a")
    assert not d4.promoted and "estimated on held-out question set and pool 'sha256:held-b'" in d4.reason


def test_estimated_gate_checks_the_estimated_baselines(mlflow_home, bundle_dir):
    name = "estimated-gate"
    v1 = _log(bundle_dir, name, 0.50, 0.55, "sha256:held-a")
    d1 = promote(name, v1.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert not d1.promoted and "best_single.estimated_top1" not in d1.reason
    assert "does not beat its own baseline best_single" in d1.reason and "champion" not in _aliases(name)


def test_a_router_whose_top_model_is_not_identifiable_is_not_promoted_on_its_estimate(mlflow_home, bundle_dir):
    from rgd.tracking.promotion import IDENTIFIABLE_TAG

    name = "estimated-unidentifiable"
    v1 = log_router(bundle_dir, model_name=name,
                    metrics={"estimated_top1": 0.70, "best_single.estimated_top1": 0.50, "top1": 0.70,
                             "best_single.top1": 0.50},
                    tags={"test_set_id": "sha256:test", "estimate_set_id": "sha256:held-a", IDENTIFIABLE_TAG: "false"})
    refused = promote(name, v1.version, metric="estimated_top1", test_set_id="sha256:held-a",
                      must_beat=["best_single"])
    assert not refused.promoted and "could not single out the pool's best model" in refused.reason
    assert "champion" not in _aliases(name)
    # a labelled test set's metric is evidence of its own: the flag does not hold it back
    labelled = promote(name, v1.version, metric="top1", test_set_id="sha256:test", must_beat=["best_single"])
    assert labelled.promoted and _aliases(name)["champion"] == "1"
    # the same figures on a router whose top model is identifiable pass the label-free gate
    other = name + "-settled"
    v2 = log_router(bundle_dir, model_name=other, metrics={"estimated_top1": 0.70, "best_single.estimated_top1": 0.50},
                    tags={"test_set_id": "none (label-free)", "estimate_set_id": "sha256:held-a",
                          IDENTIFIABLE_TAG: "true"})
    assert promote(other, v2.version, metric="estimated_top1", test_set_id="sha256:held-a",
                   must_beat=["best_single"]).promoted


def _log_readings(bundle_dir, name, est, best_single, keys, best_single_keys, arbiter, set_id="sha256:held-a"):
    return log_router(bundle_dir, model_name=name,
                      metrics={"estimated_top1": est, "best_single.estimated_top1": best_single,
                               "estimated_top1_keys": keys, "best_single.estimated_top1_keys": best_single_keys,
                               "estimate_keys_arbiter": float(arbiter)},
                      tags={"test_set_id": "none (label-free)", "estimate_set_id": set_id})


def test_a_label_free_gain_the_generators_keys_deny_is_not_promoted(mlflow_home, bundle_dir):
    name = "estimated-keys"
    # the consensus says +10 points over best_single, the keys (rated an arbiter) say it is worse: refused
    v1 = _log_readings(bundle_dir, name, 0.70, 0.60, 0.50, 0.55, arbiter=True)
    d1 = promote(name, v1.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert not d1.promoted and "generator's keys do not confirm" in d1.reason and "best_single" in d1.reason
    # the same readings with keys rated below the pool's runner-up: their reading is not asked
    v2 = _log_readings(bundle_dir, name, 0.70, 0.60, 0.50, 0.55, arbiter=False)
    d2 = promote(name, v2.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert d2.promoted and _aliases(name)["champion"] == str(v2.version)
    # against the champion: better on the consensus, worse on arbiter keys -> refused; better on both -> promoted
    v3 = _log_readings(bundle_dir, name, 0.75, 0.60, 0.40, 0.35, arbiter=True)
    v2_keys = mlflow.MlflowClient().get_run(v2.run_id).data.metrics["estimated_top1_keys"]
    assert v2_keys == 0.50
    d3 = promote(name, v3.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert not d3.promoted and f"champion v{v2.version}" in d3.reason and "keys do not confirm" in d3.reason
    v4 = _log_readings(bundle_dir, name, 0.75, 0.60, 0.58, 0.35, arbiter=True)
    d4 = promote(name, v4.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=["best_single"])
    assert d4.promoted and _aliases(name)["champion"] == str(v4.version)


def test_a_first_version_with_nothing_to_beat_is_not_promoted_on_an_uncertain_estimate(mlflow_home, bundle_dir):
    name = "estimated-level"
    uncertain = log_router(bundle_dir, model_name=name,
                           metrics={"estimated_top1": 0.68, "estimated_top1_low": 0.32, "estimated_top1_high": 0.69,
                                    "estimate_uncertain": 1.0},
                           tags={"test_set_id": "none (label-free)", "estimate_set_id": "sha256:held-a"})
    d1 = promote(name, uncertain.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=[])
    assert not d1.promoted and "nothing to be compared with" in d1.reason and "0.32 to 0.69" in d1.reason
    assert "champion" not in _aliases(name)
    # readings that agree on the level: the estimate may stand alone
    certain = log_router(bundle_dir, model_name=name,
                         metrics={"estimated_top1": 0.68, "estimate_uncertain": 0.0},
                         tags={"test_set_id": "none (label-free)", "estimate_set_id": "sha256:held-a"})
    assert promote(name, certain.version, metric="estimated_top1", test_set_id="sha256:held-a", must_beat=[]).promoted
