"""The world reproduces the paper's central claim with an ideal embedder (the true niche of each question).

Per niche, a "key" router ranks models by their accuracy against the generator's keys (what kNN/MLP learn)
and a "consensus" router by their mean consensus score (what CASCAL learns, no keys). Weak generators' keys
mislead the first; the second does not depend on keys.
"""

import numpy as np
import pytest

from rgd.consensus import ConsensusScorer
from rgd.simulated import make_generator


def niche_router_top1(world, per_question_score, niches_train, table_test, niches_test, n_niches):
    m = per_question_score.shape[0]
    sums = np.zeros((m, n_niches))
    counts = np.bincount(niches_train, minlength=n_niches)
    for j in range(m):
        sums[j] = np.bincount(niches_train, weights=per_question_score[j], minlength=n_niches)
    glob = per_question_score.mean(axis=1)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), glob[:, None])  # uncovered niche: global
    pick = means.argmax(axis=0)[niches_test]
    return table_test.correct()[pick, np.arange(table_test.n_questions)].mean()


@pytest.fixture(scope="module")
def results(world, pool, bench):
    test = bench[1]
    table_test = pool.answer_table(test)
    niches_test = world.latent(test).niche
    out = {}
    for preset in ("strong", "medium", "weak", "very_weak"):
        qs = make_generator(world, preset).generate_questions(200, seed=0)
        table = pool.answer_table(qs)
        niches = world.latent(qs).niche
        key_score = table.correct().astype(float)
        cons_score = ConsensusScorer().fit_score(table).scores
        out[preset] = {
            "key": niche_router_top1(world, key_score, niches, table_test, niches_test, world.n_niches),
            "consensus": niche_router_top1(world, cons_score, niches, table_test, niches_test, world.n_niches),
        }
    out["best_single"] = table_test.accuracy().max()
    return out


def test_key_routers_lose_more_than_consensus_routers(results):
    key_drop = results["strong"]["key"] - results["very_weak"]["key"]
    cons_drop = results["strong"]["consensus"] - results["very_weak"]["consensus"]
    assert key_drop > cons_drop + 0.05, results


def test_consensus_beats_keys_at_the_weakest_generator(results):
    assert results["very_weak"]["consensus"] >= results["very_weak"]["key"] + 0.04, results


def test_with_a_strong_generator_both_beat_the_best_single_model(results):
    assert results["strong"]["key"] > results["best_single"] + 0.15, results
    assert results["strong"]["consensus"] > results["best_single"] + 0.15, results
