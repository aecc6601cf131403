"""Step invocation names used by the RGD pipelines on Kubernetes."""

from __future__ import annotations

import re

GENERATE_STEP = "generate_questions"
FILTER_STEP = "filter_questions"
RESPOND_PREFIX = "respond_"
CONSENSUS_STEP = "score_consensus"
EMBED_STEP = "embed_questions"
TRAIN_STEP = "train_router"
EVALUATE_STEP = "evaluate_router"
REGISTER_STEP = "register_router"

FIXED_STEPS = (
    GENERATE_STEP,
    FILTER_STEP,
    CONSENSUS_STEP,
    EMBED_STEP,
    TRAIN_STEP,
    EVALUATE_STEP,
    REGISTER_STEP,
)


def model_slug(model: str) -> str:
    """Slug of a model id for step names: last path part, lower case, non-alphanumerics -> ``_``.

    ``"meta-llama/Llama-3.3-70B-Instruct"`` -> ``"llama_3_3_70b_instruct"``.
    """
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    slug = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    if not slug:
        raise ValueError(f"model id {model!r} has no letters or digits to build a step name from")
    return slug


def respond_step_name(model: str) -> str:
    """Invocation id of the respond step for one pool model."""
    return RESPOND_PREFIX + model_slug(model)


def is_known_step(name: str) -> bool:
    return name in FIXED_STEPS or (name.startswith(RESPOND_PREFIX) and len(name) > len(RESPOND_PREFIX))
