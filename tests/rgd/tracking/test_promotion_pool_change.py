"""Promotion across a pool change: a challenger that measured the champion again in its own pool is compared
with those figures, by the same rules as on one set (margin, keys reading, level), without a hand promotion."""

from __future__ import annotations

import json

import pytest

mlflow = pytest.importorskip("mlflow")

from rgd.evaluation.pool_change import pool_change  # noqa: E402
from rgd.tracking import log_router, promote  # noqa: E402
from rgd.tracking.pool_change import champion_remeasure  # noqa: E402
from rgd.tracking.promotion import REMEASURED_PREFIX  # noqa: E402
from rgd.workflow.pool_change import Remeasure  # noqa: E402
from tests.rgd.tracking.synthetic import MODELS  # noqa: E402

METRIC = "estimated_top1"


def _aliases(name: str) -> dict[str, str]:
    return {a: str(v) for a, v in mlflow.MlflowClient().get_registered_model(name).aliases.items()}


def _log(bundle_dir, name, est, set_id, pool, *, metrics=None, tags=None):
    return log_router(bundle_dir, model_name=name,
                      metrics={METRIC: est, "best_single.estimated_top1": 0.30, **(metrics or {})},
                      tags={"test_set_id": "none (label-free)", "estimate_set_id": set_id, "pool": ",".join(pool),
                            **(tags or {})})


def _promote(name, v, set_id, must_beat=("best_single",)):
    return promote(name, v.version, metric=METRIC, test_set_id=set_id, must_beat=list(must_beat))


def _remeasure(name, new_pool, champion_metrics, share=0.0):
    """champion_remeasure with a measure that records the bundle it was handed from the registry."""
    seen = []

    def measure(bundle):
        seen.append(bundle.models)
        return Remeasure(pool_change(bundle.models, new_pool), share, dict(champion_metrics), "holdout")

    return (*champion_remeasure(name, new_pool, measure), seen)


@pytest.fixture(scope="module")
def champion(mlflow_home, bundle_dir):
    name = "pool-change"
    v1 = _log(bundle_dir, name, 0.60, "sha256:pool-a", MODELS)
    assert _promote(name, v1, "sha256:pool-a").promoted
    return name, v1


def test_no_remeasure_for_the_same_pool(champion):
    name, _ = champion
    metrics, tags, seen = _remeasure(name, MODELS, {METRIC: 0.5})
    assert (metrics, tags, seen) == ({}, {}, [])


def test_the_champion_is_loaded_from_the_registry_and_measured_in_the_new_pool(champion):
    name, v1 = champion
    new_pool = (*MODELS[:3], "new-model")  # the generalist replaced by a new model
    metrics, tags, seen = _remeasure(name, new_pool, {METRIC: 0.55, "top1": 0.5}, share=0.25)
    assert seen == [MODELS]  # the champion's verified bundle
    assert metrics == {REMEASURED_PREFIX + METRIC: 0.55, REMEASURED_PREFIX + "top1": 0.5}
    assert tags["pool_change.champion"] == v1.version and tags["pool_change.case"] == "replaced"
    assert tags["pool_change.added"] == "new-model" and tags["pool_change.removed"] == "generalist"
    assert "25.0% of the champion's routes" in tags["pool_change.description"]


def test_a_challenger_that_beats_the_remeasured_champion_is_promoted_by_itself(champion, bundle_dir):
    name, v1 = champion
    new_pool = (*MODELS, "new-model")
    metrics, tags, _ = _remeasure(name, new_pool, {METRIC: 0.62})
    # compared with the champion's re-measured estimate on the challenger's set (0.62), not its own old one (0.60)
    worse = _log(bundle_dir, name, 0.615, "sha256:pool-b", new_pool, metrics=metrics, tags=tags)
    refused = _promote(name, worse, "sha256:pool-b")
    assert not refused.promoted and "does not beat the champion" in refused.reason
    assert refused.champion_metric == pytest.approx(0.62) and "pool change (added): added new-model" in refused.reason
    better = _log(bundle_dir, name, 0.64, "sha256:pool-b", new_pool, metrics=metrics, tags=tags)
    d = _promote(name, better, "sha256:pool-b")
    assert d.promoted and _aliases(name)["champion"] == better.version, d.reason
    assert "measured again on this version's held-out questions 'sha256:pool-b'" in d.reason
    assert d.champion_metric == pytest.approx(0.62) and d.champion_before == v1.version
    client = mlflow.MlflowClient()
    mv_tags = client.get_model_version(name, better.version).tags
    assert mv_tags["promotion.pool_change"] == "added"
    docs = [a.path for a in client.list_artifacts(better.run_id, "promotion")]
    doc = json.loads(open(mlflow.artifacts.download_artifacts(run_id=better.run_id, artifact_path=docs[-1])).read())
    assert doc["pool_change"] == "added" and doc["pool_change_detail"]["champion_version"] == v1.version
    assert doc["pool_change_detail"]["champion_remeasured"][METRIC] == pytest.approx(0.62)


def test_keys_reading_and_unservable_champion(mlflow_home, bundle_dir):
    name = "pool-change-rules"
    v1 = _log(bundle_dir, name, 0.60, "sha256:a", MODELS)
    assert _promote(name, v1, "sha256:a").promoted
    pool = MODELS[:3]
    metrics, tags, _ = _remeasure(name, pool, {METRIC: 0.55, METRIC + "_keys": 0.70})
    # the keys are an arbiter and do not confirm the gain over the re-measured champion: refused
    v2 = _log(bundle_dir, name, 0.62, "sha256:b", pool, tags=tags,
              metrics={**metrics, METRIC + "_keys": 0.65, "best_single.estimated_top1_keys": 0.2,
                       "estimate_keys_arbiter": 1.0})
    d2 = _promote(name, v2, "sha256:b")
    assert not d2.promoted and "keys do not confirm" in d2.reason and "measured again in this pool" in d2.reason
    # a re-measure of another champion version is not this champion's: the old refusal stands
    stale = {**tags, "pool_change.champion": "99"}
    v3 = _log(bundle_dir, name, 0.9, "sha256:b", pool, metrics=metrics, tags=stale)
    d3 = _promote(name, v3, "sha256:b")
    assert not d3.promoted and "did not measure the champion again" in d3.reason
    # none of the champion's models remains: it cannot serve the pool, the challenger replaces it as if there
    # were no champion (its own gates still hold: an uncertain level with nothing to beat is refused)
    other = ("x-model", "y-model")
    _, gone, _ = _remeasure(name, other, {})
    assert gone["pool_change.case"] == "unservable" and gone["pool_change.servable"] == "false"
    uncertain = _log(bundle_dir, name, 0.40, "sha256:c", other, tags=gone,
                     metrics={"estimate_uncertain": 1.0, METRIC + "_low": 0.3, METRIC + "_high": 0.5})
    d4 = promote(name, uncertain.version, metric=METRIC, test_set_id="sha256:c", must_beat=[])
    assert not d4.promoted and "uncertain" in d4.reason and _aliases(name)["champion"] == v1.version
    v5 = _log(bundle_dir, name, 0.40, "sha256:c", other, tags=gone)
    d5 = _promote(name, v5, "sha256:c")
    assert d5.promoted and "cannot serve" in d5.reason and _aliases(name)["champion"] == v5.version


def test_a_champion_that_cannot_be_measured_again_leaves_the_old_refusal(champion):
    from rgd.errors import ParameterError

    name, _ = champion

    def broken(bundle):
        raise ParameterError("no held-out question")

    metrics, tags = champion_remeasure(name, MODELS[:3], broken)
    assert metrics == {} and "pool_change.champion" not in tags
    assert "could not be measured again in this pool: no held-out question" in tags["pool_change.description"]


def test_the_baseline_gate_is_waived_only_for_a_champion_that_does_not_beat_the_baseline_either(mlflow_home,
                                                                                               bundle_dir):
    name = "pool-change-baseline"
    v1 = _log(bundle_dir, name, 0.60, "sha256:a", MODELS)
    assert _promote(name, v1, "sha256:a").promoted
    pool = (*MODELS, "strong-model")  # a dominant model joins: the best router routes to it, like best_single
    # the champion, measured again, is below the new pool's best_single (0.80); the version is at it, not above
    metrics, tags, _ = _remeasure(name, pool, {METRIC: 0.70})
    v2 = _log(bundle_dir, name, 0.79, "sha256:b", pool, tags=tags,
              metrics={**metrics, "best_single.estimated_top1": 0.80})
    d2 = _promote(name, v2, "sha256:b")
    assert d2.promoted and "baseline gate waived" in d2.reason and "beats the champion" in d2.reason, d2.reason
    # a champion that beats the baseline in the new pool keeps the gate: the version must beat the baseline too
    metrics, tags, _ = _remeasure(name, (*MODELS, "other-model"), {METRIC: 0.855})
    v3 = _log(bundle_dir, name, 0.84, "sha256:c", (*MODELS, "other-model"), tags=tags,
              metrics={**metrics, "best_single.estimated_top1": 0.85})
    d3 = _promote(name, v3, "sha256:c")
    assert not d3.promoted and "does not beat its own baseline best_single" in d3.reason
