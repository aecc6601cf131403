"""A recorded pool's answer keys are TRUE keys: the label-free router never sees them, in any pipeline."""

from __future__ import annotations

import numpy as np

from rgd.config.run_config import RunConfig
from rgd.data.recorded import load_recorded
from rgd.workflow.artifacts import EmbeddingMatrix
from rgd.workflow.curate import consensus_stage
from rgd.workflow.sources import source_for
from rgd.workflow.train import train_stage
from rgd.workflow.training_data import TrainingData
from tests.rgd.conftest import synthetic_pool, write_recorded


def _fit(config, table, x):
    consensus = consensus_stage(config.consensus, table, config.seed)
    emb = EmbeddingMatrix(table.question_ids, x, "test", "test")
    data = TrainingData.build(table, emb, consensus, generated=source_for(config).generated)
    return train_stage(config.router, data, config.seed).routers["truth_cluster"]


def test_the_recorded_pipeline_keeps_true_keys_from_the_label_free_router(tmp_path):
    rows, preds, topic = synthetic_pool(400, seed=7)
    data = load_recorded(write_recorded(tmp_path / "pool", rows, preds))
    _, table = data.part("train")
    x = np.eye(4, dtype=np.float32)[topic[: table.n_questions]] + 0.01
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    config = RunConfig.model_validate({"pipeline": "recorded", "recorded": {"dir": str(tmp_path / "pool")},
                                       "router": {"name": "truth_cluster", "baselines": []}, "registry": {"must_beat": []}})
    clean = _fit(config, table, x)
    poisoned = _fit(config, table.with_answers((table.answers + 1) % 4), x)
    assert clean.key_accuracy_ is None  # no key was handed to it as data
    np.testing.assert_array_equal(clean.scores(x), poisoned.scores(x))
