"""Answer checkpoints are keyed on everything that determines the answers, and can be bypassed (issue 13,
class 1): a rerun after changing the simulated pool's seed, the sampling, or a backend's URL or model does not
reuse the old answers; a timeout change (transport only) does; ``resume=False`` (``rgd run --no-cache``)
answers everything again."""

from __future__ import annotations

import pytest

from rgd.config.run_config import RunConfig, SimulatedSpec
from rgd.workflow.generate import generate_stage, load_test_set
from rgd.workflow.respond import answer_identity, checkpoint_path, respond_stage

MODEL = "sim-generalist-large"


def _config(**pool) -> RunConfig:
    return RunConfig(generators=["strong"],
                     simulated=SimulatedSpec(world={"n_subjects": 2, "niches_per_subject": 2},
                                             pool={"n_specialists": 2, "n_generalists": 1, **pool}, n_test=12),
                     generation={"n_per_subject": 6, "self_answer_samples": 0})


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RGD_HOME", str(tmp_path))
    return tmp_path


def _respond(config: RunConfig):
    generated, _ = generate_stage(config, progress=False)
    return respond_stage(config, MODEL, generated, load_test_set(config), progress=False)


def test_changing_the_simulated_pool_seed_does_not_reuse_answers(home):
    first = _respond(_config())
    again = _respond(_config())
    assert again[2]["answered_now"] == 0 and again[2]["checkpoint"] == first[2]["checkpoint"]
    reseeded = _respond(_config(seed=7))
    assert reseeded[2]["checkpoint"] != first[2]["checkpoint"]
    assert reseeded[2]["answered_now"] == reseeded[2]["n_questions"]


def test_sampling_changes_the_key_and_no_resume_answers_again(home):
    base = _config()
    first = _respond(base)
    hot = base.model_copy(update={"respond": base.respond.model_copy(update={"temperature": 0.7})})
    assert _respond(hot)[2]["checkpoint"] != first[2]["checkpoint"]
    longer = base.model_copy(update={"respond": base.respond.model_copy(update={"max_tokens": 64})})
    assert _respond(longer)[2]["checkpoint"] != first[2]["checkpoint"]
    fresh = base.model_copy(update={"respond": base.respond.model_copy(update={"resume": False})})
    redone = _respond(fresh)
    assert redone[2]["answered_now"] == redone[2]["n_questions"]
    assert redone[2]["checkpoint"] == first[2]["checkpoint"]  # the checkpoint is rewritten, not another one
    assert _respond(base)[2]["answered_now"] == 0  # and resumable again afterwards


def _llm_config(**params) -> RunConfig:
    return RunConfig(generators=[{"kind": "openai", "model": "gen", "params": {"base_url": "http://127.0.0.1:1/v1"}}],
                     pool={"kind": "openai", "params": {"base_url": "http://127.0.0.1:1/v1", **params},
                           "models": ["m-a", "m-b"]},
                     benchmark="mmlu_pro", test_set={"dir": "/nonexistent"})


def test_backend_params_that_change_answers_change_the_key(home):
    from rgd.data.schema import Provenance, Question

    questions = [Question(id="q1", subject="math", text="1+1?", options=["1", "2"], answer="B",
                          provenance=Provenance(kind="benchmark", source="t"))]

    def key(config: RunConfig, model: str = "m-a"):
        return checkpoint_path(model, questions, answer_identity(config, model))

    base = key(_llm_config())
    assert key(_llm_config(base_url="http://127.0.0.1:2/v1")) != base
    assert key(_llm_config(use_chat=False)) != base
    assert key(_llm_config(), "m-b") != base
    assert key(_llm_config(timeout_s=600, max_retries=1, max_concurrency=2)) == base  # transport only
    assert key(_llm_config()) == base


def test_without_reuse_turns_every_checkpoint_off():
    config = _config().without_reuse()
    assert config.respond.resume is False
    assert _config().respond.resume is True
