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
