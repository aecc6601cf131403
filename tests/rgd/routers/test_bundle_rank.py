"""RouterBundle.policy and RouterBundle.rank: the cost policy is a field of the bundle, saved and verified with
it (bundles that kept it in their metadata load the same), and every caller (the pyfunc model, ``rgd route``,
the gateway) ranks as ``bundle.rank`` does, and refuses a cost weight above 0 without a policy alike."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rgd.errors import ArtifactError, ParameterError
from rgd.routers.bundle import MANIFEST_FILE, POLICY_FILE, RouterBundle
from rgd.routers.policy import NO_POLICY, POLICY_METADATA_KEY, Calibrator, CostPolicy, CostWeightError
from tests.rgd.tracking.synthetic import fit_bundle
from tests.rgd.tracking.test_pyfunc_cost import QUESTIONS, policy_bundle

WEIGHTS = (0.0, 0.3, 1.0)


@pytest.fixture(scope="module")
def with_policy() -> RouterBundle:
    return policy_bundle()


@pytest.fixture(scope="module")
def plain() -> RouterBundle:
    return fit_bundle("cascal")


def bundle_order(bundle: RouterBundle, w: float) -> list[list[str]]:
    ranking = bundle.rank(bundle.score(bundle.embedder.embed(QUESTIONS)), w)
    return [[bundle.models[j] for j in row] for row in ranking.order.tolist()]


def pyfunc_order(bundle: RouterBundle, w: float) -> list[list[str]]:
    from rgd.tracking.pyfunc_model import RouterModel

    frame = RouterModel(bundle).predict(pd.DataFrame({"question": QUESTIONS}),
                                        params={"k": len(bundle.models), "cost_weight": w})
    return [json.loads(m) for m in frame["models"]]


def gateway_order(bundle: RouterBundle, w: float) -> list[list[str]]:
    from rgd.serving.reload import LoadedRouter

    router = LoadedRouter("1", bundle)

    async def ranks():
        try:
            return await asyncio.gather(*(router.rank(q, w) for q in QUESTIONS))
        finally:
            router.batcher.close()

    return [routed.models for routed in asyncio.run(ranks())]


def cli_route(bundle: RouterBundle, w: float, monkeypatch, tmp_path):
    """``rgd route QUESTION --json`` with the registry's model (``_load_model``) replaced by the bundle's pyfunc
    model."""
    from rgd.cli import models as cli_models
    from rgd.cli.main import main
    from rgd.tracking.pyfunc_model import RouterModel

    monkeypatch.setenv("RGD_HOME", str(tmp_path))
    monkeypatch.setattr(cli_models, "_configure", lambda tracking_uri: "")  # no registry is read
    monkeypatch.setattr(cli_models, "_load_model", lambda name, version, alias: RouterModel(bundle))
    return [CliRunner().invoke(main, ["route", q, "--json", "--k", str(len(bundle.models)), "--cost-weight", str(w)])
            for q in QUESTIONS]


def cli_order(bundle: RouterBundle, w: float, monkeypatch, tmp_path) -> list[list[str]]:
    results = cli_route(bundle, w, monkeypatch, tmp_path)
    assert all(r.exit_code == 0 for r in results), [r.output for r in results]
    return [json.loads(r.stdout)["models"] for r in results]


@pytest.mark.parametrize("w", WEIGHTS)
def test_the_pyfunc_model_rgd_route_and_the_gateway_rank_as_the_bundle_does(with_policy, w, monkeypatch, tmp_path):
    expected = bundle_order(with_policy, w)
    assert pyfunc_order(with_policy, w) == expected
    assert cli_order(with_policy, w, monkeypatch, tmp_path) == expected
    assert gateway_order(with_policy, w) == expected


def test_the_bundles_ranking_is_the_routers_own_at_0_and_the_policys_above(with_policy):
    x = with_policy.embedder.embed(QUESTIONS)
    own = with_policy.router.rank(x)
    assert np.array_equal(with_policy.rank(with_policy.score(x), 0.0).order, own)
    scores = with_policy.router.scores(x)
    for w in WEIGHTS[1:]:
        ranking = with_policy.rank(with_policy.score(x), w)
        assert np.array_equal(ranking.order, with_policy.policy.rank(scores, w))
        np.testing.assert_allclose(ranking.values, with_policy.policy.probabilities(scores))
    assert not np.array_equal(with_policy.rank(with_policy.score(x), 1.0).order, own)  # the knob does something
    routes = with_policy.route(QUESTIONS, k=2, cost_weight=1.0)  # route reports the estimated P(right)
    p = with_policy.policy.probabilities(scores)
    for r, row in zip(routes, p):
        assert r["scores"] == [float(row[with_policy.models.index(m)]) for m in r["models"]]


def test_without_a_policy_every_caller_refuses_a_weight_above_0_with_one_error(plain, monkeypatch, tmp_path):
    assert pyfunc_order(plain, 0.0) == bundle_order(plain, 0.0) == gateway_order(plain, 0.0)
    assert cli_order(plain, 0.0, monkeypatch, tmp_path) == bundle_order(plain, 0.0)
    with pytest.raises(CostWeightError, match="without a cost policy"):
        bundle_order(plain, 0.5)
    with pytest.raises(CostWeightError, match="without a cost policy"):
        plain.route(QUESTIONS, cost_weight=0.5)
    with pytest.raises(CostWeightError, match="without a cost policy") as raised:
        pyfunc_order(plain, 0.5)
    from mlflow.exceptions import MlflowException

    assert isinstance(raised.value, MlflowException) and raised.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(CostWeightError, match="without a cost policy"):
        gateway_order(plain, 0.5)
    for r in cli_route(plain, 0.5, monkeypatch, tmp_path):
        assert r.exit_code == 1 and f"Error: {NO_POLICY}" in r.output and "Traceback" not in r.output


def test_the_policy_is_saved_with_the_bundle_and_verified_by_its_manifest(with_policy, tmp_path):
    saved = with_policy.save(tmp_path / "bundle")
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert POLICY_FILE in manifest["files"] and POLICY_METADATA_KEY not in manifest["metadata"]
    loaded = RouterBundle.load(saved)
    assert loaded.policy.to_dict() == with_policy.policy.to_dict()
    for w in WEIGHTS:
        assert bundle_order(loaded, w) == bundle_order(with_policy, w)
    doc = json.loads((saved / POLICY_FILE).read_text())
    doc["costs"]["generalist"] = 0.0  # a cheaper dear model: the routing would change
    (saved / POLICY_FILE).write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        RouterBundle.load(saved)
    (saved / POLICY_FILE).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        RouterBundle.load(saved)
    assert POLICY_FILE not in json.loads((fit_bundle("cascal").save(tmp_path / "plain") / MANIFEST_FILE).read_text())[
        "files"]


def legacy_bundle(with_policy: RouterBundle, directory, doc) -> None:
    """A bundle as written before the policy was a field: the policy's JSON in the manifest's metadata."""
    RouterBundle(with_policy.router, with_policy.embedder, dict(with_policy.metadata)).save(directory)
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest["metadata"][POLICY_METADATA_KEY] = doc
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_a_bundle_with_the_policy_in_its_metadata_loads_the_same(with_policy, tmp_path):
    legacy_bundle(with_policy, tmp_path / "old", with_policy.policy.to_dict())
    old = RouterBundle.load(tmp_path / "old")
    assert old.policy.to_dict() == with_policy.policy.to_dict()
    assert old.metadata == with_policy.metadata and POLICY_METADATA_KEY not in old.metadata
    then = dataclasses.replace(with_policy, coverage=None)  # such a bundle had no coverage either
    for w in WEIGHTS:
        assert old.route(QUESTIONS, k=4, cost_weight=w) == then.route(QUESTIONS, k=4, cost_weight=w)
    resaved = RouterBundle.load(old.save(tmp_path / "resaved"))  # written again: the policy in its own file
    assert resaved.policy.to_dict() == with_policy.policy.to_dict()
    legacy_bundle(with_policy, tmp_path / "bad", {"format": "rgd.cost_policy", "version": 99})
    with pytest.raises(ArtifactError, match="cost policy version 99"):
        RouterBundle.load(tmp_path / "bad")


def test_a_policy_for_another_pool_or_given_twice_is_refused(with_policy, tmp_path):
    policy = with_policy.policy
    cal = policy.calibrator
    reordered = CostPolicy.build(cal.models[::-1], dict(zip(policy.models, policy.costs.tolist())),
                                 Calibrator(cal.models[::-1], cal.knots_x[::-1], cal.knots_y[::-1]))
    with pytest.raises(ParameterError, match="the cost policy is for pool"):
        RouterBundle(with_policy.router, with_policy.embedder, policy=reordered)
    legacy_bundle(with_policy, tmp_path / "other", reordered.to_dict())
    with pytest.raises(ArtifactError, match=f"{MANIFEST_FILE}: the cost policy is for pool"):
        RouterBundle.load(tmp_path / "other")
    with pytest.raises(ParameterError, match="given twice"):
        RouterBundle(with_policy.router, with_policy.embedder, {POLICY_METADATA_KEY: policy.to_dict()}, policy=policy)
    late = RouterBundle(with_policy.router, with_policy.embedder)
    late.metadata[POLICY_METADATA_KEY] = policy.to_dict()
    with pytest.raises(ParameterError, match="the cost policy is RouterBundle.policy"):
        late.save(tmp_path / "late")
    assert not (tmp_path / "late").exists()
