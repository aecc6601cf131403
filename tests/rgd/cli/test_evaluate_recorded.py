import gzip
import json
import os

from click.testing import CliRunner

from rgd.cli import main
from rgd.cli.main import check_writable
from rgd.data.schema import LETTERS
from tests.paths import REPO_ROOT
from tests.rgd.conftest import SHARED_MMLU, needs_mmlu, synthetic_pool, write_recorded

REQUIRED = {"truth_cluster", "cascal", "cascal_gt", "knn", "mlp", "best_single", "random", "majority_all", "oracle"}


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
    t = report["run"]["timings_s"]
    assert {"embed", "consensus", "train"} <= set(t)
    assert set(t["train"]) == set(report["route_seconds"]) == REQUIRED - {"majority_all", "oracle"}
    assert report["router_params"]["cascal"]["n_nearest"] == 1 and len(report["voters"]) == 3
    assert report["routers"]["cascal"]["top1"] > report["routers"]["best_single"]["top1"]
    assert report["primary"] == "truth_cluster"
    assert report["router_summaries"]["truth_cluster"]["level"] != "global"
    assert report["run"]["label_noise"] == 0.3 and report["run"]["seed"] == 1
    assert report["routers"]["truth_cluster"]["top1"] > report["routers"]["best_single"]["top1"]
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
    assert report["run"]["timings_s"]["train"]["cascal"] < 30


def _generator_file(path, rows, preds_of):
    with open(path, "w") as fh:
        for r, p in zip(rows, preds_of):
            fh.write(json.dumps({"question_id": r["question_id"], "pred": p}) + "\n")
    return path


def _run(args):
    return CliRunner().invoke(main, ["evaluate-recorded", *args])


def test_keys_from_a_generator_file_train_the_label_using_baselines_only(tmp_path):
    rows, preds, _ = synthetic_pool(400, seed=5)
    data = write_recorded(tmp_path / "pool", rows, preds)
    # a very weak generator: a wrong key on every question, no key on a few
    wrong = [LETTERS[(LETTERS.index(r["answer"]) + 1) % 4] for r in rows]
    keys = _generator_file(tmp_path / "gen.jsonl", rows, [None if i % 10 == 0 else w for i, w in enumerate(wrong)])
    common = ["--embedder", "tfidf", "--cache-dir", str(tmp_path / "cache")]
    assert _run([str(data), *common, "--output", str(tmp_path / "true.json")]).exit_code == 0
    res = _run([str(data), *common, "--keys-from", str(keys), "--output", str(tmp_path / "gen.json")])
    assert res.exit_code == 0, res.output
    true_keys = json.loads((tmp_path / "true.json").read_text())
    gen = json.loads((tmp_path / "gen.json").read_text())
    assert gen["run"]["keys_from"] == str(keys) and true_keys["run"]["keys_from"] is None
    # learning from always-wrong keys ruins kNN; the label-free CASCAL is unchanged
    assert gen["routers"]["knn"]["top1"] < true_keys["routers"]["knn"]["top1"] - 0.2
    assert gen["routers"]["cascal"] == true_keys["routers"]["cascal"]


def test_label_free_routers_never_read_the_true_training_keys(tmp_path):
    rows, preds, _ = synthetic_pool(400, seed=6)
    clean = write_recorded(tmp_path / "clean", rows, preds)
    n_train = int(len(rows) * 0.7)
    poisoned_rows = [dict(r, answer=LETTERS[(LETTERS.index(r["answer"]) + 2) % 4]) if i < n_train else r
                     for i, r in enumerate(rows)]
    poisoned = write_recorded(tmp_path / "poisoned", poisoned_rows, preds)
    keys = _generator_file(tmp_path / "gen.jsonl", rows, [r["answer"] for r in rows])
    outs = []
    for d in (clean, poisoned):
        out = tmp_path / f"{d.name}.json"
        res = _run([str(d), "--embedder", "tfidf", "--cache-dir", str(tmp_path / "cache"), "--keys-from", str(keys),
                    "--output", str(out)])
        assert res.exit_code == 0, res.output
        outs.append(json.loads(out.read_text()))
    for name, r in outs[0]["routers"].items():
        if name != "oracle":  # every router, label-free or trained on the generator's keys, is unchanged
            assert outs[1]["routers"][name] == r, name


def test_a_bad_output_path_fails_before_any_work(tmp_path):
    rows, preds, _ = synthetic_pool(60)
    data = write_recorded(tmp_path / "p", rows, preds)
    (tmp_path / "file").write_text("x")
    res = _run([str(data), "--embedder", "tfidf", "--output", str(tmp_path / "file" / "sub" / "out.json")])
    assert res.exit_code == 2 and "--output" in res.output and "Traceback" not in res.output
    res = _run([str(data), "--embedder", "tfidf", "--output", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.output


def test_an_output_that_cannot_be_opened_fails_before_any_work(tmp_path):
    """A writable folder is not enough (issue 28, 9): a name too long for the file system (or, below, a
    read-only file) used to pass the check, run the whole evaluation, then lose it to a traceback."""
    rows, preds, _ = synthetic_pool(60)
    data = write_recorded(tmp_path / "p", rows, preds)
    res = _run([str(data), "--embedder", "tfidf", "--output", str(tmp_path / ("o" * 300 + ".json"))])
    assert res.exit_code == 2 and "--output" in res.output and "cannot write" in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    check_writable(tmp_path / "new" / "out.json", "--output")  # a probe leaves no file behind
    assert list((tmp_path / "new").iterdir()) == []
    if os.geteuid() == 0:
        return  # root writes read-only files and folders
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0o444)
    res = _run([str(data), "--embedder", "tfidf", "--output", str(locked)])
    assert res.exit_code == 2 and "cannot write" in res.output and locked.read_text() == "{}"
    (tmp_path / "ro").mkdir(mode=0o555)
    res = _run([str(data), "--embedder", "tfidf", "--output", str(tmp_path / "ro" / "out.json")])
    assert res.exit_code == 2 and "not writable" in res.output


def test_a_disk_filling_up_while_the_report_is_written_is_an_error_naming_it(tmp_path, monkeypatch):
    """The output passes the check before any work, then the disk fills up mid-write (issue 28, 9): a one-line
    error naming the file and the cause, no traceback, and no half-written report left in its place."""
    from tests.rgd.data.test_versioned_json import inject_write_fault

    rows, preds, _ = synthetic_pool(60)
    data = write_recorded(tmp_path / "p", rows, preds)
    out = tmp_path / "out" / "report.json"
    inject_write_fault(monkeypatch, "report.json")
    res = _run([str(data), "--embedder", "tfidf", "--cache-dir", str(tmp_path / "c"), "--output", str(out)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert f"Error: {out}: cannot write it: No space left on device (ENOSPC); nothing half-written" in res.output
    assert "Traceback" not in res.output and list(out.parent.iterdir()) == []


def test_a_test_question_without_a_key_is_named(tmp_path):
    rows, preds, _ = synthetic_pool(60)
    rows[-1] = {k: v for k, v in rows[-1].items() if k != "answer"}
    data = write_recorded(tmp_path / "p", rows, preds)
    res = _run([str(data), "--embedder", "tfidf", "--cache-dir", str(tmp_path / "c"),
                "--output", str(tmp_path / "o.json")])
    assert res.exit_code == 1 and "no answer key" in res.output and repr(str(rows[-1]["question_id"])) in res.output


def test_training_questions_without_a_key_are_no_error(tmp_path):
    """Label-free routers train on them, label-using ones skip them (fit_router); the run completes."""
    rows, preds, _ = synthetic_pool(120)
    train_ids = [r["question_id"] for r in rows[:84]]
    unkeyed = set(train_ids[::3])  # a third of the training keys are null (allowed by the format)
    rows = [{**r, "answer": None} if r["question_id"] in unkeyed else r for r in rows]
    data = write_recorded(tmp_path / "p", rows, preds, train_ids=train_ids,
                          test_ids=[r["question_id"] for r in rows[84:]])
    res = _run([str(data), "--embedder", "tfidf", "--cache-dir", str(tmp_path / "c"),
                "--output", str(tmp_path / "o.json")])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "o.json").read_text())
    assert {"truth_cluster", "cascal", "knn", "best_single"} <= set(out["routers"])
    assert all(0.0 <= out["routers"][r]["top1"] <= 1.0 for r in ("truth_cluster", "knn"))


def test_a_recorded_run_config_gives_the_pool_routers_and_settings(tmp_path):
    """--config reads a recorded run config as rgd run does: its router is the report's primary, its baselines
    are the routers trained, its seed and consensus are used (tests/pipelines/test_recorded_report.py compares
    the report with the pipeline's)."""
    rows, preds, _ = synthetic_pool(200, seed=2)
    data = write_recorded(tmp_path / "p", rows, preds)
    config = tmp_path / "rec.yaml"
    config.write_text(json.dumps({"name": "rec", "pipeline": "recorded", "recorded": {"dir": str(data)}, "seed": 3,
                                  "consensus": {"n_voters": 2}, "router": {"name": "cascal", "params": {"n_nearest": 1},
                                                                           "baselines": ["best_single"]}}))
    out = tmp_path / "o.json"
    res = _run(["--config", str(config), "--cache-dir", str(tmp_path / "c"), "--output", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["primary"] == "cascal" and set(report["routers"]) == {"cascal", "best_single", "majority_all", "oracle"}
    assert report["run"]["seed"] == 3 and len(report["voters"]) == 2 and report["run"]["embedder"] == "tfidf"
    assert report["router_params"]["cascal"]["n_nearest"] == 1


def test_config_and_the_options_it_decides_are_not_given_together(tmp_path):
    rows, preds, _ = synthetic_pool(60)
    data = write_recorded(tmp_path / "p", rows, preds)
    config = tmp_path / "rec.yaml"
    config.write_text(json.dumps({"name": "rec", "pipeline": "recorded", "recorded": {"dir": str(data)}}))
    out = ["--output", str(tmp_path / "o.json")]
    res = _run([str(data), "--config", str(config), "--embedder", "tfidf", "--seed", "0", *out])
    assert res.exit_code == 2 and "--config decides DATA_DIR, --embedder, --seed" in res.output, res.output
    res = _run(["--config", str(REPO_ROOT / "configs" / "default.yaml"), *out])
    assert res.exit_code == 2 and "is a training pipeline config" in res.output, res.output
    res = _run(out)
    assert res.exit_code == 2 and "give DATA_DIR" in res.output and not (tmp_path / "o.json").exists()
