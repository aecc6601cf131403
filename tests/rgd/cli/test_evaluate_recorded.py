import gzip
import json

from click.testing import CliRunner

from rgd.cli import main

from tests.rgd.conftest import SHARED_MMLU, needs_mmlu, synthetic_pool, write_recorded

REQUIRED = {"cascal", "cascal_gt", "knn", "mlp", "best_single", "random", "majority_all", "oracle"}


def test_evaluate_recorded_on_any_directory(tmp_path):
    rows, preds, _ = synthetic_pool(600, seed=3)
    data = write_recorded(tmp_path / "my-pool", rows, preds)
    out = tmp_path / "out" / "report.json"
    res = CliRunner().invoke(
        main,
        ["evaluate-recorded", str(data), "--embedder", "tfidf", "--label-noise", "0.3", "--seed", "1",
         "--cache-dir", str(tmp_path / "cache"), "--voters", "3", "--cascal", "n_nearest=1", "--output", str(out)],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["models"] == sorted(preds) and report["n_train"] == 420 and report["n_test"] == 180
    assert REQUIRED <= set(report["routers"])
    for r in report["routers"].values():
        assert 0 <= r["top1"] <= 1 and 0 <= r["top3_vote"] <= 1
    t = report["timings_s"]
    assert {"embed", "consensus", "train", "route"} <= set(t)
    assert set(t["train"]) == set(t["route"]) == REQUIRED - {"majority_all", "oracle"}
    assert report["router_params"]["cascal"]["n_nearest"] == 1 and len(report["voters"]) == 3
    assert report["routers"]["cascal"]["top1"] > report["routers"]["best_single"]["top1"]
    assert "cascal" in res.output and f"wrote {out}" in res.output


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path):
    rows, preds, _ = synthetic_pool(30)
    data = write_recorded(tmp_path / "p", rows, preds)
    path = data / "responses" / "expert-music.jsonl.gz"
    lines = gzip.open(path, "rt").read().splitlines()
    lines[4] = "not json"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["evaluate-recorded", str(data), "--embedder", "tfidf", "--output", str(tmp_path / "o.json")])
    assert res.exit_code == 1
    assert "expert-music.jsonl.gz, row 5: malformed JSON" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(main, ["evaluate-recorded", str(data), "--cascal", "bogus", "--output", str(tmp_path / "o.json")])
    assert res.exit_code == 2 and "expected NAME=VALUE" in res.output


@needs_mmlu
def test_real_mmlu_pro_with_tfidf(tmp_path):
    """The whole real split end to end (TF-IDF keeps it fast); accuracies are those of real answers."""
    out = tmp_path / "mmlu.json"
    res = CliRunner().invoke(
        main, ["evaluate-recorded", str(SHARED_MMLU), "--embedder", "tfidf", "--cache-dir", str(tmp_path / "c"),
               "--output", str(out)]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert (report["n_train"], report["n_test"]) == (8423, 3609)
    r = report["routers"]
    assert abs(r["best_single"]["top1"] - 0.5323) < 1e-3 and abs(r["oracle"]["top1"] - 0.8554) < 1e-3
    assert abs(r["majority_all"]["top1"] - 0.564) < 0.006  # ties broken at random
    assert r["cascal"]["top1"] > 0.49 and r["random"]["top1"] < 0.45
    assert report["timings_s"]["train"]["cascal"] < 30
