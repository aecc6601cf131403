"""The RGD ZenML pipelines: training on generated data, training from recorded responses, batch routing."""

from pipelines.recorded import rgd_recorded
from pipelines.routing import rgd_route_batch
from pipelines.training import rgd_training

__all__ = ["rgd_recorded", "rgd_route_batch", "rgd_training"]
