"""respond: one pool model answers the generated and the test questions (one invocation per model).

It takes the run's source's view of the config (:meth:`rgd.workflow.sources.Source.respond_view`): the sections
that decide the data and ``respond``, every other one at its default."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import get_step_context, log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.respond import respond_stage


def _step_backend_params() -> dict:
    """``extra.rgd`` of this step invocation in the run config (e.g. tensor_parallel_size), if any."""
    try:
        extra = get_step_context().step_run.config.extra or {}
    except Exception:  # noqa: BLE001 - outside a step context there is nothing to read
        return {}
    rgd_extra = dict(extra.get("rgd") or {})
    rgd_extra.pop("model", None)
    rgd_extra.pop("gpu", None)
    return rgd_extra


@step
def respond(config: RunConfig, model: str, generated: QuestionSet, test: QuestionSet,
            data_sha256: Optional[str] = None) -> tuple[
    Annotated[ResponseTable, "train_responses_{model}"],
    Annotated[ResponseTable, "test_responses_{model}"],
]:
    """Answers are checkpointed under $RGD_HOME/checkpoints: a crashed run resumes without losing any.
    ``data_sha256``: the content hash of a recorded pool's files (a cache key; steps.recorded.data_input)."""
    train, test_table, info = respond_stage(config, model, generated, test,
                                             backend_params=_step_backend_params())
    log_metadata(metadata=info)
    return train, test_table
