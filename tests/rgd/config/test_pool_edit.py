"""``rgd pool``'s config change, and the data steps' views that keep their caches across it: adding, removing or
replacing a pool model leaves the generation, the test set and every other model's answering as they were."""

from __future__ import annotations

import pytest

from rgd.config.pool_edit import ADD, REMOVE, REPLACE, changed_pool, with_pool, with_pool_in_file
from rgd.config.run_config import parse_run_config
from rgd.config.run_file import parse_run_file
from rgd.errors import ParameterError
from rgd.workflow.sources import source_for

LLM = {"generators": [{"kind": "openai", "model": "g", "params": {"base_url": "http://h/v1"}}],
       "pool": {"kind": "openai", "models": ["a", {"name": "b", "params": {"served_model": "b-1"}, "cost": 2.0}, "c"],
                "params": {"base_url": "http://h/v1"}},
       "benchmark": "mmlu_pro", "test_set": {"dir": "x"}}


def test_changed_pool_adds_removes_replaces_and_refuses_what_cannot_be():
    assert changed_pool(["a", "b"], ADD, ["c"]) == ["a", "b", "c"]
    assert changed_pool(["a", "b", "c"], REMOVE, ["b"]) == ["a", "c"]
    assert changed_pool(["a", "b", "c"], REPLACE, ["b", "b2"]) == ["a", "b2", "c"]
    for action, names, match in [(ADD, ["a"], "already in the pool"), (REMOVE, ["z"], "not in the pool"),
                                 (REMOVE, ["a", "b"], "at least two"), (REPLACE, ["a", "b"], "already in the pool"),
                                 (REPLACE, ["z", "y"], "not in the pool"), ("swap", ["a"], "unknown pool change")]:
        with pytest.raises(ParameterError, match=match):
            changed_pool(["a", "b", "c"][: 2 if action == REMOVE else 3], action, names)


def test_with_pool_keeps_each_kept_models_settings_and_the_files_other_keys():
    config = parse_run_config(LLM)
    changed = with_pool(config, ["b", "c", "d"])
    assert [m.name for m in changed.pool.models] == ["b", "c", "d"]
    assert changed.pool.models[0].params == {"served_model": "b-1"} and changed.pool.models[0].cost == 2.0
    assert changed.pool.models[2].params == {} and changed.generators == config.generators
    data = with_pool_in_file({**LLM, "zenml": {"enable_cache": True}}, config, ["b", "d"])
    assert data["pool"]["models"] == [LLM["pool"]["models"][1], "d"] and data["zenml"] == {"enable_cache": True}
    assert parse_run_file(data)[0].pool.models[1].name == "d"
    recorded = parse_run_config({"name": "r", "pipeline": "recorded", "recorded": {"dir": "d", "models": ["a", "b"]}})
    assert with_pool(recorded, ["a", "b", "c"]).recorded.models == ["a", "b", "c"]
    with pytest.raises(ParameterError, match="not valid"):
        with_pool(config, ["a", "A"])  # the same slug twice


def test_another_models_change_keeps_the_data_steps_views():
    config = parse_run_config(LLM)
    views = source_for(config)
    for other in (with_pool(config, ["a", "b", "c", "d"]), with_pool(config, ["a", "b"]),
                  with_pool(config, ["a", "b", "e"])):
        source = source_for(other)
        assert source.generation_view() == views.generation_view()
        assert source.test_set_view() == views.test_set_view()
        for model in ("a", "b"):
            assert source.respond_view(model) == views.respond_view(model), model
    # the model's own settings (not its cost) are in its view; every view is a valid config (ZenML reloads it)
    assert views.respond_view("a") != views.respond_view("b")
    repriced = parse_run_config({**LLM, "pool": {**LLM["pool"], "models": ["a", {**LLM["pool"]["models"][1],
                                                                                   "cost": 9.0}, "c"]}})
    assert source_for(repriced).respond_view("b") == views.respond_view("b")
    for view in (views.generation_view(), views.test_set_view(), views.respond_view("b")):
        assert type(view).model_validate(view.model_dump(mode="json"), strict=True) == view
    simulated = parse_run_config({"generators": ["strong"], "pool": {"models": ["sim-generalist-large",
                                                                                  "sim-generalist-small"]}})
    assert source_for(simulated).respond_view("sim-generalist-large") == source_for(
        with_pool(simulated, ["sim-generalist-large", "sim-specialist-biol-1"])).respond_view("sim-generalist-large")


def test_a_recorded_pipelines_pool_is_its_directorys_models_unless_named(tmp_path):
    from tests.rgd.conftest import synthetic_pool, write_recorded

    rows, preds, _ = synthetic_pool(40)
    pack = write_recorded(tmp_path / "pack", rows, preds)
    config = parse_run_config({"name": "r", "pipeline": "recorded", "recorded": {"dir": str(pack)}})
    assert source_for(config).pool_model_names() == sorted(preds)
    models = changed_pool(source_for(config).pool_model_names(), REMOVE, [sorted(preds)[0]])
    assert source_for(with_pool(config, models)).pool_model_names() == sorted(preds)[1:]
