"""The pipeline's stages as plain functions of a run config, in pipeline order; no ZenML here.

``sources`` (the one answer to the run's kind: simulated, real models or a recorded pool), ``generate``, ``respond``, ``curate`` (filter, consensus),
``train`` (embed, the one training set, fit), ``evaluate`` (the one evaluation report); ``recorded`` builds
``rgd evaluate-recorded`` from the same functions and writes the same report.
The ZenML steps (``steps/``) are thin wrappers around these.
"""

from rgd.workflow.curate import build_consensus, consensus_stage, filter_stage
from rgd.workflow.evaluate import evaluate_stage, flat_metrics
from rgd.workflow.generate import generate_stage, load_test_set
from rgd.workflow.respond import merge_pool, respond_stage
from rgd.workflow.sources import SimulatedSource, source_for
from rgd.workflow.train import embed_stage, fit_routers, train_stage
from rgd.workflow.training_data import TrainingData

__all__ = [
    "SimulatedSource", "TrainingData", "build_consensus", "consensus_stage", "embed_stage", "evaluate_stage", "filter_stage",
    "fit_routers", "flat_metrics", "generate_stage", "load_test_set", "merge_pool", "respond_stage", "source_for",
    "train_stage",
]
