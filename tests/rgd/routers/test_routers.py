import json

import numpy as np
import pytest

from rgd.consensus import ConsensusScorer
from rgd.data.recorded import load_recorded
from rgd.errors import ArtifactError
from rgd.evaluation.metrics import evaluate_routers
from rgd.routers.base import Router, TrainingSet
from rgd.routers.cascal import CascalRouter
from rgd.routers.registry import ROUTERS, fit_router, make_router


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from rgd.embedding import make_embedder
    from tests.rgd.conftest import synthetic_pool, write_recorded

    rows, preds, topics = synthetic_pool(800, seed=1)
    data = load_recorded(write_recorded(tmp_path_factory.mktemp("pool"), rows, preds))
    train_q, train = data.part("train")
    test_q, test = data.part("test")
    emb = make_embedder("tfidf", n_components=32).fit([q.text for q in train_q])
    scorer = ConsensusScorer().fit(train)
    ts = TrainingSet(train, emb.embed([q.text for q in train_q]), scorer.score(train))
    return ts, test, emb.embed([q.text for q in test_q]), scorer


def fitted(pool, name, **params):
    return fit_router(name, params, pool[0])


def test_cascal_finds_the_expert_of_each_topic_without_labels(pool):
    ts, test, test_x, scorer = pool
    routers = {name: fitted(pool, name) for name in ROUTERS if name != "mlp"}
    routers["mlp"] = fitted(pool, "mlp", max_iter=400)  # a small data set needs more epochs
    res = evaluate_routers(routers, test, test_x, scorer)
    assert res["best_single"].top1 < 0.65  # every model is an expert of only a quarter of the questions
    assert res["cascal"].top1 > 0.8  # routing to the topic expert
    assert res["cascal"].top1 > res["best_single"].top1 + 0.15
    assert res["cascal_gt"].top1 > 0.8 and res["knn"].top1 > 0.8 and res["mlp"].top1 > 0.7
    assert res["oracle"].top1 >= max(r.top1 for r in res.values())
    assert abs(res["random"].top1 - 0.58) < 0.08
    assert set(res["cascal"].per_subject) == {"arts", "science"}


def test_cascal_does_not_read_the_keys(pool):
    ts, test, test_x, _ = pool
    blind = ts.table.with_answers(np.full(ts.table.n_questions, -1))
    a = CascalRouter().fit(TrainingSet(blind, ts.embeddings, ts.consensus)).rank(test_x)
    b = CascalRouter().fit(ts).rank(test_x)
    assert np.array_equal(a, b)


def test_cascal_recomputes_its_sharpened_scores_after_a_new_temperature_or_fit(pool, tmp_path):
    """The sharpened cluster/global/subject scores are cached per fitted state and temperature: changing
    either gives the scores a router built that way from scratch gives."""
    train, x = pool[0], pool[2][:40]
    router = fitted(pool, "cascal")
    first = router.scores(x)
    router.set_params(score_temperature=0.5)
    hotter = router.scores(x)
    fresh = Router.load(router.save(tmp_path / "r"))  # loaded with score_temperature 0.5, nothing cached
    np.testing.assert_array_equal(hotter, fresh.scores(x))
    assert not np.allclose(first, hotter)
    router.set_params(score_temperature=0.05)
    np.testing.assert_array_equal(router.scores(x), first)
    # a refit on other data (its own consensus scores) replaces the cached arrays too
    other = TrainingSet(train.table, train.embeddings[::-1].copy(), train.consensus)
    router.fit(other)
    np.testing.assert_array_equal(router.scores(x), CascalRouter(**router.get_params()).fit(other).scores(x))


def test_label_routers_refuse_tables_without_keys(pool):
    ts, *_ = pool
    blind = ts.table.with_answers(np.full(ts.table.n_questions, -1))
    with pytest.raises(ValueError, match="answer key"):
        make_router("knn").fit(TrainingSet(blind, ts.embeddings, ts.consensus))


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_save_load_round_trip(pool, tmp_path, name):
    _, _, test_x, _ = pool
    router = fitted(pool, name)
    loaded = Router.load(router.save(tmp_path / name))
    assert type(loaded) is type(router) and loaded.models_ == router.models_
    assert np.array_equal(loaded.rank(test_x), router.rank(test_x))


def test_agglomerative_option_and_knn_subject_routing(pool):
    ts, test, test_x, scorer = pool
    r = fitted(pool, "cascal", clustering="agglomerative", subject_routing="knn")
    res = evaluate_routers({"cascal": r}, test, test_x, scorer)
    assert res["cascal"].top1 > 0.8
    subject = np.asarray(r.subjects_)[r.subject_of(test_x)]
    assert (subject == test.subjects).mean() > 0.95


def test_corrupt_or_incompatible_artifacts_are_refused(pool, tmp_path):
    router = fitted(pool, "cascal")
    d = router.save(tmp_path / "r")
    doc = json.loads((d / "router.json").read_text())

    (d / "router.json").write_text(json.dumps({**doc, "version": 99}))
    with pytest.raises(ArtifactError, match="format version 99 is not supported"):
        Router.load(d)
    (d / "router.json").write_text(json.dumps({**doc, "router": "rm -rf"}))
    with pytest.raises(ArtifactError, match="unknown router type"):
        Router.load(d)
    (d / "router.json").write_text(json.dumps(doc))
    (d / "arrays.npz").write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="corrupt cascal router"):
        Router.load(d)
    (d / "router.json").write_text("{")
    with pytest.raises(ArtifactError, match="unreadable router.json"):
        Router.load(d)


def test_pickled_arrays_are_never_loaded(pool, tmp_path):
    router = fitted(pool, "best_single")
    d = router.save(tmp_path / "r")
    np.savez(d / "arrays.npz", accuracy=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError, match="corrupt"):
        Router.load(d)


def test_bad_parameters_are_clear():
    with pytest.raises(ValueError, match="clustering must be"):
        CascalRouter(clustering="dbscan")
    with pytest.raises(ValueError, match="unknown router"):
        make_router("gpt-judge")


@pytest.mark.parametrize("bad", [{"n_nearest": 0}, {"min_points": -1}, {"n_nearest": 1.5}, {"prune_top": True}])
def test_cascal_refuses_counts_below_one_by_name(bad):
    from rgd.errors import ParameterError
    from rgd.routers.cascal import CascalRouter

    with pytest.raises(ParameterError, match=next(iter(bad))):
        CascalRouter(**bad)
