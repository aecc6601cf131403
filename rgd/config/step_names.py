"""Every step id of the RGD pipelines, and which run-config sections each step reads.

The one place step names are typed: the pipelines and steps (through :mod:`steps.names`), the Kubernetes
run-config checks (``rgd_k8s``) and the command line's report read them from here. A library module, so the
Kubernetes tools know the steps without importing the adapters; it imports neither ZenML nor the steps.
"""

from __future__ import annotations

from rgd.config.run_config import RunConfig, model_slug

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
    "STEP_SECTIONS",
    "STRUCTURAL_SECTIONS",
    "TEST_SET_STEP",
    "TRAIN_STEP",
    "config_for",
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

#: sections every step may depend on (they decide what the data is)
STRUCTURAL_SECTIONS = frozenset({"pipeline", "benchmark", "simulated", "generators", "pool", "test_set", "recorded"})
#: sections each cached step reads besides the structural ones (register_router reads everything)
STEP_SECTIONS: dict[str, frozenset[str]] = {
    GENERATE_STEP: frozenset({"generation"}),
    TEST_SET_STEP: frozenset(),
    RECORDED_STEP: frozenset(),
    RESPOND_STEP: frozenset({"respond"}),
    FILTER_STEP: frozenset({"filter", "evaluation", "seed"}),
    CONSENSUS_STEP: frozenset({"filter", "consensus", "seed"}),
    EMBED_STEP: frozenset({"embedder"}),
    TRAIN_STEP: frozenset({"router", "filter", "seed"}),
    EVALUATE_STEP: frozenset({"router", "seed"}),  # router.params: the cost policy's calibration refits
}


def respond_step_name(model: str) -> str:
    """Invocation id of the respond step for one pool model."""
    return RESPOND_PREFIX + model_slug(model)


def is_known_step(name: str) -> bool:
    return name in FIXED_STEPS or name in RECORDED_STEPS or (name.startswith(RESPOND_PREFIX) and len(name) > len(RESPOND_PREFIX))


def config_for(config: RunConfig, step: str) -> RunConfig:
    """The config with the sections ``step`` does not read reset to defaults, so that changing, say, the
    router's parameters does not invalidate the cached answers of the respond steps (ZenML caches on inputs)."""
    own = STEP_SECTIONS.get(step)
    if own is None:
        return config
    projected = config.restricted_to(STRUCTURAL_SECTIONS | own)
    if step == GENERATE_STEP:
        projected = _without_pool_settings(projected)
    return projected


def _without_pool_settings(config: RunConfig) -> RunConfig:
    """Generation never asks the pool: its view keeps the pool's kind and model names (the run's shape) but
    not the pool's parameters (a timeout, a URL) nor the simulated pool's config, so changing them keeps the
    cached generation."""
    from rgd.config.run_config import PoolModelSpec
    from rgd.simulated.pool import PoolConfig

    # a recorded pool's one parameter (its directory) is what it is, and the config must stay valid
    params = config.pool.params if config.pool.kind == "recorded" else {}
    pool = config.pool.model_copy(update={"params": params, "models": [PoolModelSpec(name=m.name)
                                                                       for m in config.pool.models]})
    update: dict = {"pool": pool}
    if config.simulated is not None:
        update["simulated"] = config.simulated.model_copy(update={"pool": PoolConfig()})
    return config.model_copy(update=update)
