"""embed_questions: fit the embedder on the training texts, embed training and test questions (cached)."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RunConfig
from rgd.embedding.base import Embedder
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet
from rgd.workflow.train import embed_stage


@step
def embed_questions(config: RunConfig, train: QuestionSet, test: QuestionSet) -> tuple[
    Annotated[Embedder, "embedder"],
    Annotated[EmbeddingMatrix, "train_embeddings"],
    Annotated[EmbeddingMatrix, "test_embeddings"],
]:
    embedder, train_x, test_x = embed_stage(config, train, test)
    return embedder, train_x, test_x
