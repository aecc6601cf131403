"""ZenML steps of the RGD pipelines: thin typed wrappers around :mod:`rgd.workflow.stages` and the MLflow layer.

Step names match ``rgd_k8s.naming`` (the Kubernetes run configs): generate_questions, filter_questions,
respond (one invocation ``respond_<model_slug>`` per pool model), score_consensus, embed_questions,
train_router, evaluate_router, register_router; plus load_test_set, load_recorded_data, route_batch.
"""

import materializers  # noqa: F401 - registers the RGD materializers with ZenML

from steps.consensus import score_consensus
from steps.embed import embed_questions
from steps.evaluate import evaluate_router
from steps.filter import filter_questions
from steps.generate import generate_questions, load_test_set
from steps.recorded import load_recorded_data
from steps.register import register_router
from steps.respond import respond
from steps.route import route_batch
from steps.train import train_router

__all__ = [
    "embed_questions",
    "evaluate_router",
    "filter_questions",
    "generate_questions",
    "load_recorded_data",
    "load_test_set",
    "register_router",
    "respond",
    "route_batch",
    "score_consensus",
    "train_router",
]
