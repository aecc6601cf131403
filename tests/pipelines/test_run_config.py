"""Run configs: every shipped file validates; typos fail with the field's path; the Kubernetes config's
respond steps match the pool; simulated latent truth survives a trip through the artifacts."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.launch import load_run_file as load_run_config
from pipelines.launch import parse_run_file as parse_run_config
from rgd.config.run_config import RunConfig, model_slug
from rgd.errors import DataError
from rgd.workflow.sources import source_for
from tests.paths import REPO_ROOT as REPO


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")) + sorted((REPO / "configs" / "k8s").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    config, _ = load_run_config(path)
    if config.pipeline == "training":
        assert len(source_for(config).pool_model_names()) >= 2 and config.generators


def test_typo_is_refused_with_its_path():
    with pytest.raises(DataError, match=r"filter\.min_self_consistancy: unknown field"):
        parse_run_config({"generators": ["strong"], "filter": {"min_self_consistancy": 0.5}})
    with pytest.raises(DataError, match="unknown generator preset 'strogn'"):
        parse_run_config({"generators": [{"kind": "simulated", "preset": "strogn"}]})
    with pytest.raises(DataError, match=r"extra\.rgd\.embeder: unknown field"):
        parse_run_config({"run_name": "x", "extra": {"rgd": {"generator": "m/a", "pool": ["m/a", "m/b"],
                                                            "benchmark": "mmlu_pro", "embeder": "tfidf"}}})


def test_k8s_config_respond_steps_match_the_pool():
    config, zenml_cfg = load_run_config(REPO / "configs" / "k8s" / "mmlu_pro_vllm.yaml")
    respond_steps = {s for s in zenml_cfg["steps"] if s.startswith("respond_")}
    assert respond_steps == {f"respond_{model_slug(m)}" for m in source_for(config).pool_model_names()}
    assert config.embedder.kind == "minilm" and config.generators[0].kind == "vllm"


def test_data_views_keep_caches_of_unrelated_steps():
    a = RunConfig(generators=["strong"])
    b = RunConfig(generators=["strong"], router={"name": "cascal", "params": {"k_max": 3}},
                  filter={"min_answer_entropy": 0.3})
    for view in ("generation_view", "test_set_view", "respond_view"):
        assert getattr(source_for(a), view)() == getattr(source_for(b), view)(), view
    # the other steps take their own sections: a filter threshold is not the consensus step's input
    assert a.consensus == b.consensus and a.router != b.router


def test_simulated_latents_survive_a_fresh_process_world(tmp_path, monkeypatch):
    monkeypatch.setenv("RGD_HOME", str(tmp_path))  # a fresh answers checkpoint
    from rgd import workflow as stages
    from rgd.config.run_config import SimulatedSpec

    config = RunConfig(generators=["medium"], simulated=SimulatedSpec(n_test=30),
                       generation={"n_per_subject": 10, "self_answer_samples": 1})
    generated, _ = stages.generate_stage(config, progress=False)
    test = stages.load_test_set(config)
    # in the generating process: the generator's own world
    from rgd.simulated.generator import SimulatedGenerator
    from rgd.simulated.pool import SimulatedPool
    from rgd.simulated.world import World

    world = World(config.simulated.world)
    world.benchmark(0, 30, seed=config.simulated.test_seed)
    SimulatedGenerator(world, config.generators[0].simulated_config()).generate_questions(10, seed=0)
    expected = SimulatedPool(world, config.simulated.pool).answer_arrays(list(generated.questions))[0]
    # in another process: a fresh world that only has the artifacts
    model = source_for(config).pool_model_names()[0]
    train, test_table, info = stages.respond_stage(config, model, generated, test, progress=False)
    assert np.array_equal(train.choices[0], expected[0])
    assert test_table.n_questions == 30 and info["answered_now"] == len(generated) + 30


def test_subjects_without_benchmark_survive_every_step_projection(tmp_path):
    """generation.subjects without benchmark (issue 13, class 12): every data step's view of the config validates
    again where the step reads it (ZenML stores it as JSON)."""
    config, _ = parse_run_config({"generators": [{"kind": "openai", "model": "g", "params": {"base_url": "http://h/v1"}}],
                                  "pool": {"kind": "openai", "models": ["a", "b"], "params": {"base_url": "http://h/v1"}},
                                  "generation": {"subjects": "mmlu_pro"}, "test_set": {"dir": str(tmp_path)}})
    source = source_for(config)
    for view in (source.generation_view(), source.test_set_view(), source.respond_view()):
        assert RunConfig.model_validate(view.model_dump(mode="json")).generation.subjects == "mmlu_pro"


def test_pool_settings_do_not_invalidate_the_cached_generation():
    """Changing a pool timeout or the simulated pool's seed keeps generate_questions' cache (class 12)."""
    llm = {"generators": [{"kind": "openai", "model": "g", "params": {"base_url": "http://h/v1"}}],
           "pool": {"kind": "openai", "models": ["a", "b"], "params": {"base_url": "http://h/v1"}},
           "benchmark": "mmlu_pro", "test_set": {"dir": "x"}}
    a = parse_run_config(llm)[0]
    b = parse_run_config({**llm, "pool": {**llm["pool"], "params": {"base_url": "http://h/v1", "timeout_s": 600}}})[0]
    assert source_for(a).generation_view() == source_for(b).generation_view()
    assert source_for(a).respond_view() != source_for(b).respond_view()
    s1 = parse_run_config({"generators": ["strong"]})[0]
    s2 = parse_run_config({"generators": ["strong"], "simulated": {"pool": {"seed": 3}}})[0]
    assert source_for(s1).generation_view() == source_for(s2).generation_view()
    assert source_for(s1).respond_view() != source_for(s2).respond_view()
    s3 = parse_run_config({"generators": ["strong"], "generation": {"n_per_subject": 7}})[0]
    assert source_for(s1).generation_view() != source_for(s3).generation_view()
