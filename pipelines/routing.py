"""Route a batch of questions with the champion router (``models:/rgd-router@champion``)."""

from __future__ import annotations

from typing import Optional

from zenml import pipeline

from rgd.config.aliases import CHAMPION, DEFAULT_MODEL_NAME
from steps.route import route_batch


@pipeline(name="rgd_route_batch", enable_cache=False)
def rgd_route_batch(questions: list[str], model_name: str = DEFAULT_MODEL_NAME, alias: str = CHAMPION,
                    version: Optional[str] = None, k: int = 3, tracking_uri: Optional[str] = None) -> None:
    route_batch(questions=questions, model_name=model_name, alias=alias, version=version, k=k,
                tracking_uri=tracking_uri)
