"""The RGD training pipeline: generated data in, a registered (and possibly promoted) router out.

    generate_questions ─┬─> respond_<model> (one per pool model) ─> filter_questions ─> score_consensus
    load_test_set ──────┘                                        embed_questions ─> train_router
                                                  evaluate_router (real test set, if any; label-free estimate on held-out generated questions) ─> register_router

Order: the pool answers every generated question *before* the filter, because filter property (b) (the
question separates the pool: answer entropy, not everyone right or wrong) and the consensus-agreement part
of (a) need the pool's answers; the generator's own re-answers (a) are produced by generate_questions.
Filtering first would save at most the dropped fraction of answering and would need a second pass for (b).
Each respond invocation also answers the test questions, so evaluation needs no extra GPU step.
"""

from __future__ import annotations

from zenml import pipeline

from pipelines.learning import learn_and_register
from rgd.config.run_config import RunConfig
from rgd.workflow.sources import source_for
from steps import names
from steps.filter import filter_questions
from steps.generate import generate_questions, load_test_set
from steps.names import respond_step_name
from steps.recorded import data_input
from steps.respond import respond


@pipeline(name="rgd_training")
def rgd_training(config: RunConfig) -> None:
    # every step takes what it reads: its config section(s), or the run's source's view of the config (the data
    # steps), so that a change elsewhere keeps its cache. The files the run reads are hashed into the data steps'
    # inputs (a recorded replay's, the test set's, a recorded pool's): editing them reruns those steps
    source = source_for(config)
    files = source.input_files()
    generator, generated_sha256 = data_input(generate_questions, *files.generators)
    generated, self_answers = generator(config=source.generation_view(), data_sha256=generated_sha256)
    test_loader, test_sha256 = data_input(load_test_set, *files.test_set)
    test = test_loader(config=source.test_set_view(), data_sha256=test_sha256)
    responder, pool_sha256 = data_input(respond, *files.pool)
    pool_models = source.pool_model_names()
    train_parts, test_parts = [], []
    for model in pool_models:
        step_id = respond_step_name(model)
        invocation = responder.with_options(substitutions={"model": step_id.removeprefix(names.RESPOND_PREFIX)})
        # each model's view of the config holds only that model of the pool: another model's change keeps its cache
        train_r, test_r = invocation(config=source.respond_view(model), model=model, generated=generated, test=test,
                                     data_sha256=pool_sha256, id=step_id)
        train_parts.append(train_r)
        test_parts.append(test_r)
    # the filter also holds a seeded share of the kept questions out of training (evaluation.holdout_fraction)
    kept, pool_responses, report, holdout, holdout_responses = filter_questions(
        settings=config.filter, consensus_temperature=config.consensus.temperature,
        holdout_fraction=config.evaluation.holdout_fraction, seed=config.seed, pool_models=pool_models,
        generated=generated, train_responses=train_parts, self_answers=self_answers)
    learn_and_register(config, source, pool_responses, kept, test, test_parts, holdout=holdout,
                       holdout_responses=holdout_responses, filter_report=report)
