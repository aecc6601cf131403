"""benchmarks/pool_sweep.py: the frontier suite's pools and the flag over several sweeps' results."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import pool_sweep
from tests.paths import REPO_ROOT, SHARED_MMLU


def _row(margin: float, identifiable: bool) -> dict:
    return {"margins": {"top1_vs_best_single": margin}, "identifiability": {"identifiable": identifiable}}


def test_the_flag_over_several_result_files_counts_their_pools_together(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"pools": [_row(-0.05, False), _row(0.0, True), _row(0.0, False)]}))
    b.write_text(json.dumps({"pools": [_row(-0.03, True), _row(0.01, True)]}))
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "pool_sweep.py"), "--flag-over", str(a),
                          str(b)], capture_output=True, text=True, check=True)
    flag = json.loads(out.stdout)
    assert flag == {"pools": 5, "pools_below_by_2pt": 2, "flagged": 2, "flagged_share": 0.4, "recall": 0.5,
                    "precision": 0.5}


@pytest.mark.skipif(not SHARED_MMLU.is_dir(), reason="needs the shared MMLU-Pro pack (../shared/data/mmlu_pro)")
def test_the_frontier_suite_builds_strong_members_from_the_recorded_answers(tmp_path):
    args = argparse.Namespace(suite="frontier", pools=2, spread=0.25, keys=None)
    pools = pool_sweep.pools_of(args, SHARED_MMLU, tmp_path, seed=0)
    assert len(pools) == 2
    for changes, ds in pools:
        strong = [m for m in ds.table.models if "+key" in m]
        assert changes[0] == ds.name and 2 <= len(strong) <= 4 and len(changes) == 1 + len(strong)
        right = ds.table.correct()[[ds.table.models.index(m) for m in strong]]
        assert (right.mean(axis=1) >= 0.3).all()  # each the key on 30-70% of the questions, its base elsewhere
        assert right.all(axis=0).mean() > right.mean(axis=1).prod()  # right together, on the easier questions


@pytest.mark.skipif(not SHARED_MMLU.is_dir(), reason="needs the shared MMLU-Pro pack (../shared/data/mmlu_pro)")
def test_the_proxy_scores_the_estimates_top_pick_and_the_few_labels_against_best_single(tmp_path):
    args = argparse.Namespace(suite="stress", pools=1, spread=0.25, keys=None)
    (changes, ds), = pool_sweep.pools_of(args, SHARED_MMLU, tmp_path, seed=1)
    row = pool_sweep.proxy_row(ds, 30, 1, {})
    _, train = ds.part("train")
    _, test = ds.part("test")
    acc = test.accuracy()
    best = acc[int(np.argmax(train.accuracy()))]
    leader = train.models.index(row["identifiability"]["leader"])
    assert row["margins"]["top1_vs_best_single"] == round(float(acc[leader] - best), 4)
    assert row["routers"]["best_single"]["top1"] == round(float(best), 4)
    assert row["few_labels"]["n_labels"] <= 30
    assert row["few_labels"]["top1"] == float(acc[train.models.index(row["few_labels"]["leader"])])
    summary = pool_sweep.summary([row])  # a proxy row has the best_single margin only
    assert list(summary) == ["top1_vs_best_single", "few_labels_top1_vs_best_single", "identifiability_flag"]
    assert summary["top1_vs_best_single"]["mean"] == row["margins"]["top1_vs_best_single"]
    # several draws of the questions: their mean, each draw's leader among the contenders
    drawn = pool_sweep.proxy_row(ds, 30, 1, {}, label_draws=4)["few_labels"]
    contenders = [train.models.index(m) for m in row["identifiability"]["contenders"]]
    assert len(drawn["top1_draws"]) == 4 and drawn["top1"] == pytest.approx(np.mean(drawn["top1_draws"]), abs=1e-4)
    assert set(drawn["top1_draws"]) <= {round(float(acc[m]), 4) for m in contenders}


def test_several_label_draws_need_the_proxy():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "pool_sweep.py"), "--label-draws", "3"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "only with --proxy" in out.stderr


def test_the_proxy_refuses_keys():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "pool_sweep.py"), "--proxy", "--keys", "strong"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--proxy runs without keys" in out.stderr


def test_the_few_labels_on_a_local_routing_are_rgd_checks_routing_against_the_leader(tmp_path):
    from rgd.data.recorded import load_recorded
    from rgd.workflow.recorded import embed_with, run_recorded
    from tests.rgd.conftest import specialist_pool

    ds = load_recorded(specialist_pool(tmp_path / "pool"))
    train_q, _ = ds.part("train")
    embed = embed_with("tfidf")
    train_x = embed([q.text for q in train_q], [])[0]
    report = run_recorded(ds, embed, routers=("truth_cluster",))
    assert report["router_summaries"]["truth_cluster"]["level"] != "global"
    few = pool_sweep.with_few_labels(ds, report, 30, 0, train_x, {})
    # the true keys side with the routing (the mathematician on math): kept, the router's own top-1
    assert few == {"asked": True, "n_labels": 30, "leader": "local routing", "changed": False,
                   "top1": report["routers"]["truth_cluster"]["top1"], "contest": "local routing"}
    with pytest.raises(RuntimeError, match="not the sweep's"):  # a router refitted otherwise is refused
        pool_sweep.with_few_labels(ds, report, 30, 0, train_x, {"levels": "global"})


def test_contenders_that_answer_alike_everywhere_are_asked_nothing_and_the_label_free_choice_stays():
    answers = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    decision = pool_sweep.labels_decide(answers, np.array([1, 1, 1, 1]), True, 30, 0)
    assert decision.n_labels == 0 and decision.leader == 0 and not decision.changed
