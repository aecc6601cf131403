"""Everything that can be checked is checked before any step runs, and a failed run ends with its root cause
in one line, with "rerun" advice only where a rerun can help (issue 13, class 11)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.launch import failure_summary, parse_run_file, preflight
from rgd.errors import DataError, ParameterError
from tests.rgd.conftest import synthetic_pool, write_recorded


def _sim(**extra):
    return parse_run_file({"generators": ["strong"], **extra})[0]


def _llm(pool_params=None, gen_params=None, **extra):
    data = {"generators": [{"kind": "openai", "model": "gen", "params": {"base_url": "http://127.0.0.1:9/v1",
                                                                        **(gen_params or {})}}],
            "pool": {"kind": "openai", "models": ["m-a", "m-b"],
                     "params": {"base_url": "http://127.0.0.1:9/v1", **(pool_params or {})}},
            "benchmark": "mmlu_pro", **extra}
    return parse_run_file(data)[0]


@pytest.fixture
def test_dir(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    return write_recorded(tmp_path / "p", rows, preds)


def test_the_default_shapes_pass(test_dir):
    preflight(_sim())
    preflight(_llm(test_set={"dir": str(test_dir)}))


@pytest.mark.parametrize("extra, match", [
    ({"embedder": {"kind": "tfidf", "params": {"n_componnets": 8}}}, r"embedder\.params.*n_componnets"),
    ({"router": {"name": "cascal", "params": {"k_maxx": 3}}}, r"router 'cascal'.*k_maxx"),
    ({"pool": {"kind": "simulated", "models": ["no-such-model", "sim-generalist-large"]}}, r"no-such-model"),
])
def test_simulated_config_errors_before_any_step(extra, match):
    with pytest.raises((ParameterError, DataError), match=match):
        preflight(_sim(**extra))


def test_backend_parameter_typos_before_any_step(test_dir):
    with pytest.raises(ParameterError, match=r"pool.*'m-a'.*base_ulr"):
        preflight(_llm(pool_params={"base_ulr": "x"}, test_set={"dir": str(test_dir)}))
    with pytest.raises(ParameterError, match=r"generator 'gen'.*timeout"):
        preflight(_llm(gen_params={"timeout": 5}, test_set={"dir": str(test_dir)}))
    with pytest.raises(ParameterError, match=r"pool.*base_url must start with http"):
        preflight(_llm(pool_params={"base_url": "127.0.0.1:9"}, test_set={"dir": str(test_dir)}))
    # a value of the wrong type, not only a wrong name (bool-to-int, str-to-bool coercion)
    with pytest.raises(ParameterError, match=r"pool.*'m-a'.*max_retries must be int, got True"):
        preflight(_llm(pool_params={"max_retries": True}, test_set={"dir": str(test_dir)}))
    with pytest.raises(ParameterError, match=r"pool.*use_chat must be bool, got 'no'"):
        preflight(_llm(pool_params={"use_chat": "no"}, test_set={"dir": str(test_dir)}))
    with pytest.raises(ParameterError, match=r"embedder.params: TfidfSvdEmbedder: n_components must be int"):
        preflight(_sim(embedder={"kind": "tfidf", "params": {"n_components": True}}))
    with pytest.raises(ParameterError, match=r"router 'knn'.*k must be int, got '5'"):
        preflight(_sim(router={"name": "knn", "params": {"k": "5"}}))


def test_an_embedder_model_that_is_nowhere_before_any_step(monkeypatch, tmp_path):
    hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(pytest.importorskip("huggingface_hub.constants"), "HF_HUB_CACHE", str(tmp_path / "hf-cache"))

    def not_found(repo_id, **_):
        raise OSError("Repository Not Found")

    monkeypatch.setattr(hub, "model_info", not_found)
    with pytest.raises(ParameterError, match=r"^embedder model 'nobody/no-such-model' could not be found"):
        preflight(_sim(embedder="nobody/no-such-model"))


def test_data_directories_and_recorded_models_before_any_step(tmp_path, test_dir):
    with pytest.raises(DataError, match=r"nope: not a directory"):
        preflight(_llm(test_set={"dir": str(tmp_path / "nope")}))
    recorded = {"pipeline": "recorded", "recorded": {"dir": str(test_dir)}}
    preflight(parse_run_file(recorded)[0])
    with pytest.raises(DataError, match=r"no responses file for models \['expert-nobody'\]"):
        preflight(parse_run_file({**recorded, "recorded": {"dir": str(test_dir),
                                                           "models": ["expert-music", "expert-nobody"]}})[0])
    with pytest.raises(DataError, match="not a directory"):
        preflight(parse_run_file({**recorded, "recorded": {"dir": str(tmp_path / "none")}})[0])


def test_rgd_run_stops_before_the_pipeline_with_one_line(tmp_path, monkeypatch):
    from rgd.cli.main import main

    monkeypatch.setenv("RGD_HOME", str(tmp_path / "home"))
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("generators: [strong]\nembedder: {kind: tfidf, params: {n_componnets: 8}}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0
    assert "running" not in result.output and "n_componnets" in result.output
    assert "Traceback" not in result.output and "Rerun" not in result.output


def _chain(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def test_failure_summary_names_the_root_cause_and_reruns_only_transient_failures():
    from rgd.llm.backends.errors import BackendError, TransientError
    from rgd.workflow.respond import InjectedFailure

    line, transient = failure_summary(_chain(RuntimeError("Failed to run step filter_questions."),
                                             DataError("no question passed the filter", path="x")))
    assert line == "DataError: x: no question passed the filter" and not transient
    line, transient = failure_summary(_chain(RuntimeError("step failed"),
                                             _chain(BackendError("m: still failing after 6 attempts"),
                                                    TransientError("timed out"))))
    assert "still failing after 6 attempts" in line and transient
    assert failure_summary(InjectedFailure("injected failure after 48"))[1]
    assert failure_summary(_chain(RuntimeError("x"), ConnectionResetError("reset")))[1]
    assert not failure_summary(_chain(RuntimeError("x"), FileNotFoundError(2, "No such file")))[1]
    assert not failure_summary(ValueError("bad\nsecond line"))[1]
    assert failure_summary(ValueError("bad\nsecond line"))[0] == "ValueError: bad"


def test_failure_details_keep_the_rest_of_the_root_message():
    from pipelines.launch import failure_details

    exc = _chain(RuntimeError("step failed"), DataError("no usable question; a sample of its output:\nblah\nblub"))
    assert failure_summary(exc)[0] == "DataError: no usable question; a sample of its output:"
    assert failure_details(exc) == "blah\nblub"
    assert failure_details(ValueError("one line")) == ""


def test_relative_data_dirs_resolve_against_the_config_files_repository(tmp_path, monkeypatch):
    """As the README says (class 14): `recorded.dir` is relative to the repository root, not to the cwd."""
    from pipelines.launch import load

    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    cfg = repo / "configs" / "rec.yaml"
    cfg.write_text("pipeline: recorded\nrecorded: {dir: data/pool}\n")
    monkeypatch.chdir(tmp_path)
    config, _ = load(cfg)
    assert config.recorded.dir == str(repo / "data" / "pool")
    cfg.write_text("pipeline: recorded\nrecorded: {dir: /abs/pool}\n")
    assert load(cfg)[0].recorded.dir == "/abs/pool"
    llm = repo / "configs" / "llm.yaml"
    llm.write_text("generators: [{kind: openai, model: g, params: {base_url: 'http://h/v1'}}]\n"
                   "pool: {kind: openai, models: [a, b], params: {base_url: 'http://h/v1'}}\nbenchmark: mmlu_pro\n")
    assert load(llm)[0].test_set.dir == str(repo / "data" / "mmlu_pro")


def test_a_failed_steps_record_gives_its_cause_and_whether_to_rerun():
    """The local orchestrator raises only "failure in step(s): X"; the cause comes from the step's record."""
    from types import SimpleNamespace

    from pipelines.launch import step_failure_summary

    backend = SimpleNamespace(
        source="rgd.llm.backends.errors.BackendError", message="m: prompt 0: still failing after 2 attempts",
        traceback="Traceback (most recent call last):\n  ...\nrgd.llm.backends.errors.TransientError: timed out\n\n"
                  "The above exception was the direct cause of the following exception:\n\n"
                  "rgd.llm.backends.errors.BackendError: m: prompt 0: still failing after 2 attempts\n")
    line, transient, _ = step_failure_summary("respond_m", backend)
    assert line == "step respond_m: BackendError: m: prompt 0: still failing after 2 attempts" and transient
    data = SimpleNamespace(source="rgd.errors.DataError", message="the filter dropped all 8\nmore",
                           traceback="Traceback...\nrgd.errors.DataError: the filter dropped all 8\nmore\n")
    line, transient, details = step_failure_summary("filter_questions", data)
    assert line == "step filter_questions: DataError: the filter dropped all 8" and not transient
    assert details == "more"
    injected = SimpleNamespace(source="rgd.workflow.respond.InjectedFailure", message="injected failure", traceback="")
    assert step_failure_summary("respond_x", injected)[1]


def test_a_recorded_replay_is_checked_before_any_step(tmp_path):
    rows, preds, _ = synthetic_pool(20)
    pack = write_recorded(tmp_path / "pack", rows, preds)
    replay = {"generators": [{"kind": "recorded", "model": "gen", "params": {"dir": str(pack)}}],
              "pool": {"kind": "recorded", "params": {"dir": str(pack)}, "models": sorted(preds)}}
    with pytest.raises(DataError, match="no recorded answers of generator 'gen'"):
        preflight(parse_run_file(replay)[0])
    (pack / "generators").mkdir()
    (pack / "generators" / "gen.jsonl").write_text('{"question_id": 0, "pred": "??"}\n')
    with pytest.raises(DataError, match="is not an option letter"):  # the answers are read as the generate step will read them
        preflight(parse_run_file(replay)[0])
    (pack / "generators" / "gen.jsonl").write_text('{"question_id": 0, "pred": "A"}\n')
    preflight(parse_run_file(replay)[0])
    with pytest.raises(DataError, match="no responses file for models"):
        preflight(parse_run_file({**replay, "pool": {**replay["pool"], "models": ["expert-cooking", "nobody"]}})[0])


def test_replay_paths_are_relative_to_the_repository_root(tmp_path):
    from pipelines.launch import load

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "configs").mkdir()
    path = tmp_path / "configs" / "replay.yaml"
    path.write_text("generators: [{kind: recorded, model: g, params: {dir: data/pack, answers: keys/g.jsonl}}]\n"
                    "pool: {kind: recorded, params: {dir: /abs/pack}, models: [a, b]}\n")
    config, _ = load(path)
    assert config.generators[0].params == {"dir": str(tmp_path / "data/pack"), "answers": str(tmp_path / "keys/g.jsonl")}
    assert config.pool.params == {"dir": "/abs/pack"}
