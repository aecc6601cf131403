"""Every step id of the RGD pipelines (what each step reads is its signature: its config sections, or the run's
source's view for the data steps, :mod:`rgd.workflow.sources`).

The one place step names are typed: the pipelines and steps (through :mod:`steps.names`), the Kubernetes
run-config checks (``rgd_k8s``) and the command line's report read them from here. A library module, so the
Kubernetes tools know the steps without importing the adapters; it imports neither ZenML nor the steps.
"""

from __future__ import annotations

from rgd.config.run_config import model_slug

__all__ = [
    "CONSENSUS_STEP",
    "DATA_STEPS",
    "EMBED_STEP",
    "EVALUATE_STEP",
    "FILTER_STEP",
    "FIXED_STEPS",
    "GENERATE_STEP",
    "RECORDED_STEP",
    "RECORDED_STEPS",
    "REGISTER_STEP",
    "RESPOND_PREFIX",
    "RESPOND_STEP",
    "ROUTE_STEP",
    "TEST_SET_STEP",
    "TRAIN_STEP",
    "is_known_step",
    "respond_step_name",
]

GENERATE_STEP = "generate_questions"
TEST_SET_STEP = "load_test_set"
RECORDED_STEP = "load_recorded_data"
RESPOND_STEP = "respond"
RESPOND_PREFIX = RESPOND_STEP + "_"
FILTER_STEP = "filter_questions"
CONSENSUS_STEP = "score_consensus"
EMBED_STEP = "embed_questions"
TRAIN_STEP = "train_router"
EVALUATE_STEP = "evaluate_router"
REGISTER_STEP = "register_router"
ROUTE_STEP = "route_batch"

#: the training pipeline's steps with one invocation per run (respond has one per pool model:
#: ``respond_<model slug>``); a Kubernetes run config configures each of them
FIXED_STEPS = (GENERATE_STEP, TEST_SET_STEP, FILTER_STEP, CONSENSUS_STEP, EMBED_STEP, TRAIN_STEP, EVALUATE_STEP,
               REGISTER_STEP)
#: the recorded pipeline's own step (the others are shared with the training pipeline)
RECORDED_STEPS = (RECORDED_STEP,)
#: steps whose output is the run's data (lineage starts there)
DATA_STEPS = (GENERATE_STEP, RECORDED_STEP)


def respond_step_name(model: str) -> str:
    """Invocation id of the respond step for one pool model."""
    return RESPOND_PREFIX + model_slug(model)


def is_known_step(name: str) -> bool:
    return name in FIXED_STEPS or name in RECORDED_STEPS or (name.startswith(RESPOND_PREFIX) and len(name) > len(RESPOND_PREFIX))
