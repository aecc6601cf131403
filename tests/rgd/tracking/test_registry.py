"""log_router, promotion, rollback, listing and the registry commands on a temp SQLite MLflow store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from click.testing import CliRunner  # noqa: E402

from rgd.cli import main  # noqa: E402
from rgd.errors import ArtifactError  # noqa: E402
from rgd.tracking import list_versions, log_router, promote, rollback, set_alias_manually  # noqa: E402
from rgd.tracking.listing import NoRegisteredModelError  # noqa: E402

LINEAGE = {
    "generator": "sim-strong",
    "filter.min_agreement": "0.5",
    "data.questions_sha256": "abc123",
    "zenml.pipeline_run_id": "run-42",
}


def _log(bundle_dir, name: str, top1: float, test_set: str = "test-a", **kw):
    return log_router(
        bundle_dir,
        model_name=name,
        params={"router": "cascal"},
        metrics={"top1": top1, "top3_vote": top1 + 0.1},
        tags={**LINEAGE, "test_set_id": test_set},
        **kw,
    )


def _tags(name: str, version: str) -> dict[str, str]:
    return dict(mlflow.MlflowClient().get_model_version(name, version).tags)


def _aliases(name: str) -> dict[str, str]:
    return {a: str(v) for a, v in mlflow.MlflowClient().get_registered_model(name).aliases.items()}


def test_log_router_is_one_run_with_params_metrics_artifacts_and_lineage(mlflow_home, bundle_dir, tmp_path):
    client = mlflow.MlflowClient()
    assert mlflow.get_tracking_uri() == f"sqlite:///{mlflow_home}/mlflow/mlflow.db"
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "accuracy.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "evaluation.json").write_text(json.dumps({"cascal": {"top1": 0.6}}))
    params = {
        "generator": {"model": "sim-strong", "api_key": "hunter2", "max_tokens": 256},
        "backend": {"auth_token": "t0ps3cret", "base_url": "http://localhost:8000"},
        "pool": ["m1", "m2"],
        "openai": "sk-live-0123456789abcdef",
    }
    rv = log_router(
        bundle_dir,
        model_name="lineage",
        params=params,
        metrics={"top1": 0.61, "per_subject": {"biology": {"top1": 0.7}}},
        tags={**LINEAGE, "test_set_id": "test-a", "hf_token": "hf_abcdefghijkl"},
        artifacts={"plots": tmp_path / "plots", "evaluation": tmp_path / "evaluation.json"},
        run_name="unit",
    )
    assert (rv.name, rv.version) == ("lineage", "1")
    exp = client.get_experiment_by_name("rgd")
    assert exp.artifact_location == (mlflow_home / "mlflow" / "artifacts").as_uri()
    runs = client.search_runs([exp.experiment_id], filter_string="tags.mlflow.runName = 'unit'")
    assert [r.info.run_id for r in runs] == [rv.run_id]
    run = runs[0]
    assert run.data.params == {
        "generator.model": "sim-strong",
        "generator.max_tokens": "256",
        "backend.base_url": "http://localhost:8000",
        "pool": '["m1", "m2"]',
    }
    everything = json.dumps([run.data.params, run.data.tags, _tags("lineage", "1")])
    for secret in ("hunter2", "t0ps3cret", "sk-live", "hf_abcdefghijkl", "api_key", "auth_token", "hf_token"):
        assert secret not in everything
    assert run.data.metrics == {"top1": 0.61, "per_subject.biology.top1": 0.7}
    logged = {a.path for a in client.list_artifacts(rv.run_id)}
    assert {"plots", "evaluation"} <= logged
    assert [a.path for a in client.list_artifacts(rv.run_id, "plots")] == ["plots/accuracy.png"]
    on_disk = Path(exp.artifact_location.removeprefix("file://")) / rv.run_id / "artifacts" / "evaluation"
    assert json.loads((on_disk / "evaluation.json").read_text()) == {"cascal": {"top1": 0.6}}

    mv = client.get_model_version("lineage", rv.version)
    assert mv.run_id == rv.run_id
    tags = dict(mv.tags)
    for k, v in LINEAGE.items():
        assert tags[k] == v
    assert tags["test_set_id"] == "test-a" and tags["source_run_id"] == rv.run_id
    assert tags["router"] == "cascal" and tags["embedder"].startswith("tfidf:") and len(tags["bundle_sha256"]) == 64
    assert tags["pool"] == "math-expert,bio-expert,history-expert,generalist"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True)
    if head.returncode == 0:
        assert tags["git_commit"] == head.stdout.strip()
    assert run.data.tags["rgd.generator"] == "sim-strong"


def test_log_router_joins_an_active_run(mlflow_home, bundle_dir):
    mlflow.set_experiment("rgd")
    with mlflow.start_run(run_name="zenml-step") as run:
        mlflow.log_param("outer", "yes")
        rv = _log(bundle_dir, "active", 0.5)
        assert mlflow.active_run() is not None and mlflow.active_run().info.run_id == run.info.run_id
    assert rv.run_id == run.info.run_id
    data = mlflow.MlflowClient().get_run(run.info.run_id).data
    assert data.params["outer"] == "yes" and data.params["router"] == "cascal"


def test_tampered_bundle_is_never_registered(mlflow_home, bundle_dir, tmp_path):
    bad = Path(shutil.copytree(bundle_dir, tmp_path / "bad"))
    arrays = bad / "router" / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:-7] + b"xxxxxxx")
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        _log(bad, "tampered", 0.9)
    with pytest.raises(NoRegisteredModelError, match="run `rgd run` first"):
        list_versions("tampered")


def test_promotion_challenger_champion_margin_and_rollback(mlflow_home, bundle_dir):
    name = "flow"
    v1 = _log(bundle_dir, name, 0.60)
    d1 = promote(name, v1.version, test_set_id="test-a")
    assert d1.promoted and d1.champion_before is None and d1.challenger_metric == pytest.approx(0.60)
    assert _aliases(name) == {"champion": "1"}

    v2 = _log(bundle_dir, name, 0.55)
    d2 = promote(name, v2.version, test_set_id="test-a")
    assert not d2.promoted and d2.champion_before == "1"
    assert (d2.challenger_metric, d2.champion_metric) == (pytest.approx(0.55), pytest.approx(0.60))
    assert _aliases(name) == {"champion": "1", "challenger": "2"}
    t2 = _tags(name, "2")
    assert t2["promotion.decision"] == "refused" and t2["promotion.compared_to"] == "1"
    assert "does not beat the champion" in t2["promotion.reason"] and t2["promotion.test_set_id"] == "test-a"
    docs = mlflow.MlflowClient().list_artifacts(v2.run_id, "promotion")
    assert len(docs) == 1 and docs[0].path.endswith("-v2-refused.json")
    record = mlflow.artifacts.load_dict(f"runs:/{v2.run_id}/{docs[0].path}")
    assert record["decision"] == "refused" and record["champion_before"] == "1" and record["model"] == name

    v3 = _log(bundle_dir, name, 0.70)
    d3 = promote(name, v3.version, test_set_id="test-a")
    assert d3.promoted and "beats the champion" in d3.reason
    assert _aliases(name) == {"champion": "3"}
    assert _tags(name, "3")["promotion.previous_champion"] == "1"

    v4 = _log(bundle_dir, name, 0.72)
    d4 = promote(name, v4.version, test_set_id="test-a", margin=0.05)
    assert not d4.promoted and "margin 0.05" in d4.reason
    assert _aliases(name) == {"champion": "3", "challenger": "4"}

    rows = list_versions(name)
    assert [r["version"] for r in rows] == ["1", "2", "3", "4"]
    assert set(rows[0]) >= {"name", "version", "aliases", "metrics", "tags"}
    assert rows[2]["aliases"] == ["champion"] and rows[3]["aliases"] == ["challenger"]
    assert rows[1]["metrics"] == {"top1": pytest.approx(0.55), "top3_vote": pytest.approx(0.65)}
    assert rows[3]["tags"]["promotion.decision"] == "refused"
    json.dumps(rows)  # the --json output

    back = rollback(name)
    assert back.promoted and back.version == "1" and back.champion_before == "3"
    assert _aliases(name)["champion"] == "1"
    assert _tags(name, "3")["promotion.decision"] == "rolled_back"
    assert _tags(name, "1")["promotion.decision"] == "restored"
    with pytest.raises(ValueError, match="nothing to roll back to"):
        rollback(name)


def test_other_test_set_is_not_compared_unless_forced(mlflow_home, bundle_dir):
    name = "sets"
    v1 = _log(bundle_dir, name, 0.50, test_set="test-a")
    assert promote(name, v1.version, test_set_id="test-a").promoted
    v2 = _log(bundle_dir, name, 0.90, test_set="test-b")
    refused = promote(name, v2.version, test_set_id="test-b")
    assert not refused.promoted and "'test-a'" in refused.reason and "not comparable" in refused.reason
    assert _aliases(name)["champion"] == "1"
    assert _tags(name, v2.version)["promotion.decision"] == "refused"
    mismatch = promote(name, v2.version, test_set_id="test-a")
    assert not mismatch.promoted and "evaluated on test set 'test-b'" in mismatch.reason
    forced = promote(name, v2.version, test_set_id="test-b", force=True)
    assert forced.promoted and _aliases(name)["champion"] == "2"

    manual = set_alias_manually(name, "1", reason="v2 misbehaves in production")
    assert manual.promoted and manual.champion_before == "2" and _aliases(name)["champion"] == "1"
    t1 = _tags(name, "1")
    assert t1["promotion.decision"] == "manual" and "misbehaves" in t1["promotion.reason"]
    assert t1["promotion.previous_champion"] == "2"


def test_commands_list_promote_route(mlflow_home, bundle_dir, tmp_path):
    runner = CliRunner()
    name = "cli"
    for top1 in (0.5, 0.6):
        rv = _log(bundle_dir, name, top1)
        promote(name, rv.version, test_set_id="test-a")

    res = runner.invoke(main, ["models", "--json", "--name", name])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [(r["version"], r["aliases"]) for r in rows] == [("1", []), ("2", ["champion"])]
    assert rows[1]["metrics"]["top1"] == pytest.approx(0.6) and rows[1]["tags"]["generator"] == "sim-strong"
    table = runner.invoke(main, ["models", "--name", name])
    assert table.exit_code == 0 and "champion" in table.output and "0.600" in table.output

    res = runner.invoke(main, ["route", "which enzyme binds the cell membrane protein?", "--name", name, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["top1"] == "bio-expert" and out["subject"] == "biology" and len(out["models"]) == 3

    (tmp_path / "q.txt").write_text("which enzyme binds the cell protein?\n\nwhich treaty ended the war?\n")
    (tmp_path / "q.jsonl").write_text('"quadratic polynomial root"\n{"question": "empire dynasty war"}\n')
    res = runner.invoke(main, ["route", "--file", str(tmp_path / "q.txt"), "--name", name, "--k", "2"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(ln) for ln in res.output.splitlines() if ln.startswith("{")]
    assert [(r["top1"], len(r["models"])) for r in lines] == [("bio-expert", 2), ("history-expert", 2)]
    out_file = tmp_path / "out" / "routes.jsonl"
    res = runner.invoke(main, ["route", "--file", str(tmp_path / "q.jsonl"), "--name", name, "--version", "1",
                               "--output", str(out_file)])
    assert res.exit_code == 0, res.output
    written = [json.loads(ln) for ln in out_file.read_text().splitlines()]
    assert [(r["question"], r["top1"]) for r in written] == [
        ("quadratic polynomial root", "math-expert"), ("empire dynasty war", "history-expert")]
    (tmp_path / "bad.jsonl").write_text('{"question": "ok"}\n[1, 2]\n')
    res = runner.invoke(main, ["route", "--file", str(tmp_path / "bad.jsonl"), "--name", name])
    assert res.exit_code != 0 and "bad.jsonl, row 2" in res.output

    res = runner.invoke(main, ["promote", "--rollback", "--name", name])
    assert res.exit_code == 0 and "v2 -> v1" in res.output
    res = runner.invoke(main, ["promote", "2", "--name", name])
    assert res.exit_code == 0 and _aliases(name)["champion"] == "2"
    for bad in ("bad alias!", "v3", "latest"):  # refused by name before the registry sees it, nothing written
        res = runner.invoke(main, ["promote", "1", "--name", name, "--alias", bad])
        assert res.exit_code == 1 and "--alias" in res.output and "Traceback" not in res.output, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
    assert _aliases(name) == {"champion": "2"} and _tags(name, "1").get("promotion.alias") != "v3"

    for args in (["models"], ["route", "a question"], ["promote", "--rollback"]):
        res = runner.invoke(main, [*args, "--name", "never-registered"])
        assert res.exit_code != 0 and "run `rgd run` first" in res.output, res.output
    res = runner.invoke(main, ["route", "q", "--name", name, "--version", "99"])
    assert res.exit_code != 0 and "has no version 99" in res.output
    res = runner.invoke(main, ["promote", "--name", name])
    assert res.exit_code != 0 and "VERSION or --rollback" in res.output


def test_gate_refuses_a_router_that_loses_to_its_own_baselines(mlflow_home, bundle_dir):
    name = "gate"

    def log(top1: float, best_single: float, majority_all: float):
        return log_router(bundle_dir, model_name=name, metrics={
            "top1": top1, "cascal.top1": top1, "best_single.top1": best_single, "majority_all.top1": majority_all},
            tags={**LINEAGE, "test_set_id": "test-a"})

    # no champion yet, but below best_single: stays challenger (was champion before the gate)
    v1 = log(0.50, best_single=0.55, majority_all=0.40)
    d1 = promote(name, v1.version, test_set_id="test-a", must_beat=["best_single", "majority_all"])
    assert not d1.promoted and "does not beat its own baseline best_single" in d1.reason
    assert d1.baselines == {"best_single": pytest.approx(0.55), "majority_all": pytest.approx(0.40)}
    assert "champion" not in _aliases(name)
    t1 = _tags(name, v1.version)
    assert t1["promotion.decision"] == "refused"
    assert json.loads(t1["promotion.baselines"]) == {"best_single": 0.55, "majority_all": 0.40}
    # above best_single but not above majority_all by the margin
    v2 = log(0.60, best_single=0.55, majority_all=0.59)
    d2 = promote(name, v2.version, test_set_id="test-a", margin=0.02, must_beat=["best_single", "majority_all"])
    assert not d2.promoted and "baseline majority_all" in d2.reason and "margin 0.02" in d2.reason
    # beats both: becomes champion, and the decision names the baselines it beat
    v3 = log(0.62, best_single=0.55, majority_all=0.59)
    d3 = promote(name, v3.version, test_set_id="test-a", margin=0.02, must_beat=["best_single", "majority_all"])
    assert d3.promoted and "beats best_single" in d3.reason and _aliases(name)["champion"] == v3.version
    # a baseline the run never evaluated is a refusal that says what to do, not a silent pass
    v4 = log(0.70, best_single=0.55, majority_all=0.59)
    d4 = promote(name, v4.version, test_set_id="test-a", must_beat=["knn"])
    assert not d4.promoted and "no knn.top1 metric" in d4.reason and _aliases(name)["champion"] == v3.version


def test_gate_is_on_by_default_in_the_run_config():
    from rgd.config.run_config import RunConfig, parse_run_config
    from rgd.errors import DataError, ParameterError

    cfg = RunConfig(generators=[{"kind": "simulated", "preset": "strong"}])
    assert cfg.registry.must_beat == ["best_single"]
    off = parse_run_config({"generators": ["strong"], "registry": {"must_beat": []}})
    assert off.registry.must_beat == []
    both = parse_run_config({"generators": ["strong"], "registry": {"must_beat": ["best_single", "majority_all"]}})
    assert both.registry.must_beat == ["best_single", "majority_all"]
    with pytest.raises((DataError, ParameterError), match="registry.must_beat names \\['mlp'\\]"):
        parse_run_config({"generators": ["strong"], "registry": {"must_beat": ["mlp"]}})


def test_registered_model_and_versions_have_descriptions(mlflow_home, bundle_dir):
    name = "described"
    client = mlflow.MlflowClient()
    tags = {**LINEAGE, "test_set_id": "test-a", "generators": "sim-gen-strong", "n_train": "96", "config_name": "small"}
    v1 = log_router(bundle_dir, model_name=name, metrics={"top1": 0.6, "top3_vote": 0.7, "best_single.top1": 0.5},
                    tags=tags)
    model = client.get_registered_model(name)
    assert model.description.startswith("RGD router: ranks the models of an LLM pool")
    d = client.get_model_version(name, v1.version).description
    assert "cascal router over a pool of 4 models (math-expert, bio-expert" in d
    assert "Trained on 96 questions generated by sim-gen-strong (config small)" in d
    assert "top1 0.6000" in d and "best_single top1 0.5000" in d
    promote(name, v1.version, test_set_id="test-a", must_beat=["best_single"])
    d1 = client.get_model_version(name, v1.version).description
    assert "Promotion: Promoted to champion: no champion yet" in d1
    v2 = log_router(bundle_dir, model_name=name, metrics={"top1": 0.55, "best_single.top1": 0.5}, tags=tags)
    promote(name, v2.version, test_set_id="test-a", must_beat=["best_single"])
    d2 = client.get_model_version(name, v2.version).description
    assert "Promotion: Not promoted (stays challenger): does not beat the champion" in d2
    assert d2.count("Promotion:") == 1
    rollback_target = set_alias_manually(name, v2.version, reason="test")
    assert rollback_target.promoted
    d2 = client.get_model_version(name, v2.version).description
    assert d2.count("Promotion:") == 1 and "Alias set by hand" in d2 and d2.startswith("cascal router")


def test_a_champion_moved_between_the_check_and_the_write_is_judged_again(mlflow_home, bundle_dir, monkeypatch):
    """The compare-and-set re-check (what protects promotion against a tracking server, where the local file
    lock does not reach): another writer makes a better version champion after this promotion compared
    itself with the old champion and before it writes. The promotion must see the move, judge again against
    the new champion and refuse, not overwrite a better champion with a worse one."""
    from rgd.tracking import promotion

    name = "cas-race"
    old, mid, best = (_log(bundle_dir, name, top1).version for top1 in (0.5, 0.6, 0.9))
    assert promote(name, old, test_set_id="test-a").promoted
    real_judge, judged = promotion._judge, []

    def judge_then_race(client, mv, champion, *args, **kwargs):
        judged.append(None if champion is None else str(champion.version))
        out = real_judge(client, mv, champion, *args, **kwargs)
        if len(judged) == 1:  # the concurrent writer, between this promotion's check and its write
            client.set_registered_model_alias(name, "champion", best)
        return out

    monkeypatch.setattr(promotion, "_judge", judge_then_race)
    decision = promote(name, mid, test_set_id="test-a")
    assert judged == [str(old), str(best)]  # compared with the old champion, then again with the new one
    assert not decision.promoted and decision.champion_before == str(best)
    assert _aliases(name)["champion"] == str(best)
