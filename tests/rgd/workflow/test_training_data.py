"""The run's one training set: built in one place (which keys are the generator's decided there), aligned,
and stored as JSON + NumPy that loads back equal or is refused."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.errors import ArtifactError, DataError
from rgd.workflow.artifacts import EmbeddingMatrix
from rgd.workflow.training_data import TrainingData
from tests.rgd.workflow.conftest import consensus, embeddings, pool, questions, routers  # noqa: F401


def test_only_generated_questions_carry_generator_keys(pool, embeddings, consensus):
    table = pool[1]
    generated = TrainingData.build(table, embeddings, consensus, generated=True)
    recorded = TrainingData.build(table, embeddings, consensus, generated=False)
    assert np.array_equal(generated.training_set.generator_keys, table.answers)
    assert recorded.generator_keys is None and recorded.training_set.generator_keys is None
    assert generated.training_set.embeddings is embeddings.vectors


def test_misaligned_parts_are_refused(pool, embeddings, consensus):
    table = pool[1]
    shuffled = EmbeddingMatrix(tuple(reversed(embeddings.question_ids)), embeddings.vectors, "x", "tfidf")
    with pytest.raises(DataError, match="not aligned"):
        TrainingData.build(table, shuffled, consensus, generated=True)


@pytest.mark.parametrize("generated", [True, False])
def test_it_loads_back_what_it_saved(pool, embeddings, consensus, tmp_path, generated):
    data = TrainingData.build(pool[1], embeddings, consensus, generated=generated)
    back = TrainingData.load(data.save(tmp_path / "t"))
    assert back.table.question_ids == data.table.question_ids and np.array_equal(back.table.choices, data.table.choices)
    assert np.array_equal(back.embeddings.vectors, data.embeddings.vectors)
    assert np.array_equal(back.consensus.result.posterior, data.consensus.result.posterior)
    assert (back.generator_keys is None) == (not generated)
    if generated:
        assert np.array_equal(back.generator_keys, data.generator_keys)


def test_a_stored_training_set_with_a_part_missing_is_refused(pool, embeddings, consensus, tmp_path):
    directory = TrainingData.build(pool[1], embeddings, consensus, generated=True).save(tmp_path / "t")
    (directory / TrainingData.KEYS_FILE).unlink()
    with pytest.raises(ArtifactError, match="generator_keys.npy"):
        TrainingData.load(directory)
