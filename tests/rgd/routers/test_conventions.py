"""Routers follow scikit-learn's conventions: parameters introspected from ``__init__`` (get_params /
set_params), fitted state only in ``*_`` attributes, one NotFittedError, one registry."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import rgd.routers.base as base
from rgd.errors import NotFittedError, RGDError, fitted_attributes
from rgd.routers.base import Router, TrainingSet
from rgd.routers.registry import ROUTERS, fit_router, make_router
from tests.rgd.tracking.synthetic import synthetic_pool
from tests.rgd.workflow.conftest import STORED_V1

#: a non-default value for one parameter of each router, to see that it travels
CHANGED = {"cascal": {"n_nearest": 1, "min_points": 5}, "cascal_gt": {"fallback": "subject", "min_points": 5},
           "knn": {"k": 3}, "knn_consensus": {"batch_size": 16}, "mlp": {"hidden": 4, "max_iter": 30},
           "random": {"seed": 9}, "best_single": {}, "truth_cluster": {"levels": "subject", "n_iter": 5}}


@pytest.fixture(scope="module")
def train() -> TrainingSet:
    from rgd.consensus import ConsensusScorer
    from rgd.embedding import make_embedder

    texts, table = synthetic_pool(n_per_subject=12, seed=1)
    x = make_embedder("tfidf", n_components=8).fit(texts).embed(texts)
    return TrainingSet(table, x, ConsensusScorer().fit_score(table))


def test_every_router_is_registered_once():
    assert set(ROUTERS) == set(CHANGED)
    assert all(ROUTERS[name].name == name for name in ROUTERS)
    assert ROUTERS is base.ROUTERS  # the dict Router.load reads is the one make_router builds from
    assert not hasattr(Router, "_registry")  # no second registry filled by subclassing

    class Impostor(ROUTERS["knn"]):
        name = "cascal"

    with pytest.raises(ValueError, match="router name 'cascal' is taken by CascalRouter"):
        base.register_routers(Impostor)
    assert ROUTERS["cascal"].__name__ == "CascalRouter"


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_get_params_set_params_round_trip(name):
    router = make_router(name, **CHANGED[name])
    params = router.get_params()
    signature = [p for p in inspect.signature(type(router).__init__).parameters if p != "self"]
    assert list(params) == (signature if type(router).__init__ is not object.__init__ else [])
    assert {**params, **CHANGED[name]} == params  # stored unchanged
    json.dumps(params)
    assert type(router)(**params).get_params() == params
    assert router.params() == params
    default = make_router(name)
    assert default.set_params(**CHANGED[name]) is default and default.get_params() == params
    assert default.set_params(**make_router(name).get_params()).get_params() == make_router(name).get_params()
    with pytest.raises(ValueError, match="invalid parameters"):
        router.set_params(not_a_parameter=1)


def test_set_params_validates_like_the_constructor():
    router = make_router("cascal")
    with pytest.raises(ValueError, match="clustering must be"):
        router.set_params(clustering="dbscan")
    assert router.clustering == "kmeans"  # refused values are not set
    with pytest.raises(ValueError, match="KnnRouter: k must be int >= 1, got 0"):
        make_router("knn").set_params(k=0)


def test_set_params_on_a_fitted_router_keeps_its_state(train):
    router = fit_router("cascal", {"min_points": 5}, train)
    before = {k: getattr(router, k) for k in fitted_attributes(router)}
    router.set_params(n_nearest=1, distance_temperature=1.0)
    assert router.get_params()["n_nearest"] == 1
    assert set(fitted_attributes(router)) == set(before)
    again = make_router("cascal", min_points=5, n_nearest=1, distance_temperature=1.0).fit(
        TrainingSet(train.table.with_answers(np.full(train.table.n_questions, -1)), train.embeddings, train.consensus))
    np.testing.assert_array_equal(router.scores(train.embeddings), again.scores(train.embeddings))


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_fitted_state_only_in_trailing_underscore_attributes(name, train):
    router = make_router(name, **CHANGED[name])
    assert fitted_attributes(router) == []
    unfitted = set(vars(router))
    assert unfitted == set(router.get_params())
    router = fit_router(name, CHANGED[name], train)
    learned = set(vars(router)) - unfitted
    assert learned and all(a.endswith("_") for a in learned), learned
    assert "models_" in learned


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_not_fitted_is_one_error(name, tmp_path, train):
    router = make_router(name, **CHANGED[name])
    x = train.embeddings[:3]
    for call in (lambda: router.scores(x), lambda: router.rank(x), lambda: router.route(x, k=2),
                 lambda: router.save(tmp_path / name)):
        with pytest.raises(NotFittedError, match=f"{name} router is not fitted"):
            call()
    assert issubclass(NotFittedError, RGDError) and issubclass(NotFittedError, RuntimeError)
    if hasattr(router, "subject_of"):
        with pytest.raises(NotFittedError):
            router.subject_of(x)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_saved_params_are_get_params(name, tmp_path, train):
    router = fit_router(name, CHANGED[name], train)
    doc = json.loads((router.save(tmp_path / name) / base.ROUTER_FILE).read_text())
    assert doc["params"] == router.get_params()
    assert sorted(doc) == ["arrays", "format", "models", "params", "router", "state", "version"]
    assert Router.load(tmp_path / name).get_params() == router.get_params()


#: the routers that existed when tests/rgd/workflow/stored_v1 was written (truth_cluster came later)
STORED_V1_ROUTERS = sorted(json.loads((STORED_V1 / "router_set" / "meta.json").read_text())["routers"])


@pytest.mark.parametrize("name", STORED_V1_ROUTERS)
def test_routers_saved_by_format_1_still_load(name):
    expected = json.loads((STORED_V1 / "expected.json").read_text())
    router = Router.load(STORED_V1 / "router_set" / name)
    assert router.get_params() == expected["router_params"][name]
    from rgd.workflow.artifacts import EmbeddingMatrix

    x = EmbeddingMatrix.load(STORED_V1 / "embeddings").vectors
    assert router.rank(x).tolist() == expected["ranks"][name]


def test_repr_shows_changed_parameters():
    assert repr(make_router("knn", k=3)) == "KnnRouter(k=3)"
    assert repr(make_router("best_single")) == "BestSingleRouter()"
