"""The champion measured again in a challenger's pool, on a simulated run: a champion trained on one pool is
scored on the challenger's held-out questions and test set with the challenger's pool, its routes to a model
that left re-routed to its next choice. Checked against what the evaluate stage says of the same router on
its own pool, and against an independent per-question re-routing."""

from __future__ import annotations

import numpy as np
import pytest

from rgd import workflow as stages
from rgd.config.run_config import RunConfig
from rgd.evaluation.pool_change import ADDED, REMOVED_RELIED_ON, REPLACED, UNSERVABLE
from rgd.routers.bundle import RouterBundle
from rgd.simulated.pool import SimulatedPool
from rgd.workflow.artifacts import EmbeddingMatrix
from rgd.workflow.estimate import holdout_stage
from rgd.workflow.pool_change import remeasure_champion

CONFIG = {"name": "t", "simulated": {"world": {"seed": 0, "n_subjects": 3, "niches_per_subject": 3},
                                     "pool": {"seed": 0, "n_specialists": 3, "n_generalists": 1}, "n_test": 150},
          "generators": ["strong"], "generation": {"n_per_subject": 60, "self_answer_samples": 3},
          "embedder": "tfidf", "evaluation": {"holdout_fraction": 0.2},
          "router": {"name": "cascal", "baselines": []}, "registry": {"must_beat": []}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("RGD_HOME", str(tmp_path_factory.mktemp("home")))  # the embedding cache of the re-measure
    config = RunConfig.model_validate(CONFIG)
    generated, self_answers = stages.generate_stage(config, progress=False)
    test = stages.load_test_set(config)
    pool = SimulatedPool(stages.SimulatedSource(config).world(generated, test), config.simulated.pool)
    table, test_table = pool.answer_table(list(generated.questions)), pool.answer_table(list(test.questions))
    kept, kept_table, _ = stages.filter_stage(config.filter, generated, table, self_answers)
    train_q, train_table, held_q, held_table = holdout_stage(kept, kept_table, 0.2, config.seed)
    yield {"config": config, "train_q": train_q, "train_table": train_table, "held_q": held_q,
           "held_table": held_table, "test": test, "test_table": test_table, "cache": tmp_path_factory.mktemp("c")}
    mp.undo()


def trained(world, models):
    """A run on the pool ``models``: its training data, routers, bundle and evaluation (the evaluate stage's)."""
    config = world["config"]
    pick = lambda t: t.select_models(models)  # noqa: E731
    consensus = stages.consensus_stage(config.consensus, pick(world["train_table"]), config.seed)
    embedder, train_x, test_x = stages.embed_stage(config.embedder, world["train_q"], world["test"],
                                                   cache_dir=world["cache"])
    training = stages.TrainingData.build(pick(world["train_table"]), train_x, consensus, generated=True)
    routers = stages.train_stage(config.router, training, config.seed)
    held_x = EmbeddingMatrix(tuple(world["held_q"].ids), embedder.embed(world["held_q"].texts), embedder.identity,
                             embedder.kind)
    evaluation = stages.evaluate_stage(routers, pick(world["test_table"]), test_x, training, holdout=world["held_q"],
                                       holdout_table=pick(world["held_table"]), holdout_x=held_x)
    return {"training": training, "bundle": RouterBundle(routers.main, embedder), "evaluation": evaluation,
            "models": tuple(models), "test_x": test_x}


def remeasured(world, champion, challenger):
    return remeasure_champion(champion["bundle"], challenger["training"], holdout=world["held_q"],
                              holdout_table=world["held_table"].select_models(challenger["models"]),
                              test=world["test"], test_table=world["test_table"].select_models(challenger["models"]))


@pytest.fixture(scope="module")
def runs(world):
    names = list(world["train_table"].models)
    return {"all": trained(world, names), "no_last": trained(world, names[:-1]), "names": names}


def test_same_pool_remeasure_is_the_evaluate_stages_own_figures(world, runs):
    run = runs["all"]
    r = remeasured(world, run, run)
    own = run["evaluation"]["estimate"]["routers"][run["evaluation"]["primary"]]
    assert r.estimate_on == "holdout" and r.rerouted_share == 0.0 and r.case == "same_pool"
    for k in ("top1", "top3_vote", "top1_keys", "top1_judged", "top1_low", "top1_high"):
        assert r.metrics[f"estimated_{k}"] == pytest.approx(own[k], abs=1e-12), k
    labelled = run["evaluation"]["routers"][run["evaluation"]["primary"]]
    assert r.metrics["top1"] == pytest.approx(labelled["top1"]) and r.metrics["top3_vote"] == pytest.approx(
        labelled["top3_vote"])


def test_a_model_added_leaves_the_champions_routes_as_they_were(world, runs):
    champion, challenger = runs["no_last"], runs["all"]
    r = remeasured(world, champion, challenger)
    assert r.case == ADDED and r.change.added == (runs["names"][-1],) and r.rerouted_share == 0.0
    # the champion never routes to the added model: its labelled top-1 is what it scored on its own pool
    labelled = champion["evaluation"]["routers"][champion["evaluation"]["primary"]]
    assert r.metrics["top1"] == pytest.approx(labelled["top1"])
    # its estimate is read with the challenger's pool's truth, so it is comparable with the challenger's own
    assert set(r.metrics) >= {"estimated_top1", "estimated_top1_keys", "estimated_top1_low"}


def _first_remaining(bundle, x, keep):
    """Per question, by a plain loop: the champion's first-ranked model that is still in the pool."""
    ranks = bundle.router.rank(x)
    return [next(bundle.models[j] for j in row if bundle.models[j] in keep) for row in ranks]


def test_a_removed_model_the_champion_relied_on_is_rerouted_to_its_next_choice(world, runs):
    champion = runs["all"]
    x = champion["test_x"].vectors
    routed = champion["bundle"].router.rank(x)[:, 0]
    relied = champion["bundle"].models[int(np.bincount(routed).argmax())]  # the model it routes to most
    keep = [m for m in runs["names"] if m != relied]
    challenger = trained(world, keep)
    r = remeasured(world, champion, challenger)
    assert r.case == REMOVED_RELIED_ON and r.change.removed == (relied,) and r.rerouted_share > 0
    test_table = world["test_table"].select_models(keep)
    firsts = _first_remaining(champion["bundle"], x, keep)
    choice = np.array([test_table.choices[keep.index(m), i] for i, m in enumerate(firsts)])
    assert r.metrics["top1"] == pytest.approx(float((choice == test_table.answers).mean()))
    assert "removed" in r.describe() and f"{r.rerouted_share:.1%}" in r.describe()


def test_replaced_and_unservable(world, runs):
    names = runs["names"]
    champion = trained(world, names[:2] + names[3:])  # a, b, d
    challenger = trained(world, names[:3])  # a, b, c: d replaced by c
    r = remeasured(world, champion, challenger)
    assert r.case == REPLACED and r.change.added == (names[2],) and r.change.removed == tuple(names[3:])
    assert r.metrics["estimated_top1"] > 0 and 0 <= r.rerouted_share <= 1
    gone = trained(world, names[:2])
    other = trained(world, names[2:])
    u = remeasured(world, gone, other)
    assert u.case == UNSERVABLE and not u.servable and u.metrics == {} and "cannot serve" in u.describe()
