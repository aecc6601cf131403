"""Costs wherever a pool is described: the run config's pool models, recorded data sets, the simulated pool."""

import json

import pytest

from rgd.config.run_config import embedded_default, parse_run_config
from rgd.errors import DataError, ParameterError
from rgd.simulated.pool import SimulatedPool
from rgd.simulated.world import World
from rgd.workflow.sources import source_for


def llm_config(models):
    return parse_run_config({"generator": "Qwen/Qwen2.5-7B-Instruct", "benchmark": "mmlu_pro",
                             "pool": {"kind": "vllm", "models": models}})


def test_pool_models_carry_their_costs():
    cfg = llm_config([{"name": "a/small", "cost": 8}, {"name": "b/large", "cost": 70.6}])
    assert source_for(cfg).pool_costs(["a/small", "b/large"]) == {"a/small": 8.0, "b/large": 70.6}
    assert source_for(llm_config(["a/small", "b/large"])).pool_costs(["a/small", "b/large"]) is None  # no costs: no curve


def test_a_negative_or_non_numeric_pool_cost_names_the_field():
    with pytest.raises(DataError, match=r"pool\.models\.0\.cost"):
        llm_config([{"name": "a/small", "cost": -1}, {"name": "b/large", "cost": 2}])
    with pytest.raises(DataError, match=r"pool\.models\.1\.cost"):
        llm_config([{"name": "a/small", "cost": 1}, {"name": "b/large", "cost": "dear"}])


def test_costs_for_only_some_pool_models_name_the_missing_one():
    cfg = llm_config([{"name": "a/small", "cost": 8}, {"name": "b/large"}])
    with pytest.raises(ParameterError, match=r"pool\.models: no cost for pool model\(s\) \['b/large'\]"):
        source_for(cfg).pool_costs(["a/small", "b/large"])


def test_the_simulated_pool_has_cheap_specialists_and_dear_generalists():
    cfg = embedded_default()
    pool = SimulatedPool(World(cfg.simulated.world), cfg.simulated.pool)
    costs = source_for(cfg).pool_costs(pool.names)
    spec = [c for m, c in costs.items() if "specialist" in m]
    gen = [c for m, c in costs.items() if "generalist" in m]
    assert spec and gen and max(spec) < min(gen)
    assert costs["sim-generalist-large"] > costs["sim-generalist-small"]


def test_recorded_costs_come_from_a_file_and_every_model_needs_one(tmp_path):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"m1": {"active_params_b": 7}, "m2": {"active_params_b": 70}}))
    cfg = parse_run_config({"pipeline": "recorded", "recorded": {"dir": str(tmp_path), "costs": str(path)}})
    assert source_for(cfg).pool_costs(["m1", "m2"]) == {"m1": 7.0, "m2": 70.0}
    with pytest.raises(DataError, match="no cost for pool model.*m3"):
        source_for(cfg).pool_costs(["m1", "m2", "m3"])
    inline = parse_run_config({"pipeline": "recorded", "recorded": {"dir": str(tmp_path), "costs": {"m1": 1, "m2": 3}}})
    assert source_for(inline).pool_costs(["m1", "m2"]) == {"m1": 1.0, "m2": 3.0}


def test_the_simulated_pool_names_and_costs_are_known_without_building_a_world():
    from rgd.simulated.pool import model_costs, model_names

    for pool_cfg in ({}, {"n_specialists": 9, "n_generalists": 3}, {"n_specialists": 0, "n_generalists": 5}):
        cfg = parse_run_config({"generator": "strong", "simulated": {"pool": pool_cfg}})
        sim = cfg.simulated
        pool = SimulatedPool(World(sim.world), sim.pool)
        assert model_names(sim.world.subjects(), sim.pool) == pool.names
        assert model_costs(sim.world.subjects(), sim.pool) == pool.costs
        assert source_for(cfg).pool_costs(pool.names) == pool.costs
