"""``rgd evaluate-recorded`` reports the label-free estimate beside the true accuracy of every ranking router."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rgd.cli import main
from tests.rgd.conftest import synthetic_pool, write_recorded


def test_label_free_estimate_for_every_router_that_ranks(tmp_path):
    rows, preds, _ = synthetic_pool(400, seed=5)
    data = write_recorded(tmp_path / "pool", rows, preds)
    out = tmp_path / "report.json"
    res = CliRunner().invoke(main, ["evaluate-recorded", str(data), "--embedder", "tfidf", "--cache-dir",
                                    str(tmp_path / "cache"), "--output", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["estimate"]["on"] == "test" and report["estimate"]["n_questions"] == report["n_test"]
    est = report["estimate"]["routers"]
    # every router that ranks models and the pool's majority vote, not the oracle (it reads the keys)
    assert set(est) == set(report["routers"]) - {"oracle"} and {"cascal", "knn", "random"} <= set(est)
    for name, e in est.items():
        if name == "majority_all":  # it ranks no model: the posterior mass of its vote, no interval
            assert set(e) == {"top1", "top3_vote"}
            continue
        assert {"top1", "top3_vote", "top1_low", "top1_high", "top1_judged", "uncertain"} <= set(e)
        assert 0 <= e["top1"] <= 1 and 0 <= e["top3_vote"] <= 1
        # no generator keys in this run: no keys reading; the interval spans the judged and consensus readings
        assert "top1_keys" not in e and e["top1_low"] <= min(e["top1"], e["top1_judged"]) <= e["top1_high"]
    # on this pool the estimate orders the routers as the truth does: experts' routers far above random
    assert est["cascal"]["top1"] > est["random"]["top1"] + 0.1
    assert report["routers"]["cascal"]["top1"] > report["routers"]["random"]["top1"] + 0.1
    assert "est. top-1" in res.output
