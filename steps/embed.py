"""embed_questions: fit the embedder on the training texts, embed training and test questions (cached); it
takes the run's ``embedder`` section."""

from __future__ import annotations

from typing import Annotated

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import EmbedderSpec
from rgd.embedding.base import Embedder
from rgd.workflow.artifacts import EmbeddingMatrix, QuestionSet
from rgd.workflow.train import embed_stage


@step
def embed_questions(embedder: EmbedderSpec, train: QuestionSet, test: QuestionSet) -> tuple[
    Annotated[Embedder, "embedder"],
    Annotated[EmbeddingMatrix, "train_embeddings"],
    Annotated[EmbeddingMatrix, "test_embeddings"],
]:
    fitted, train_x, test_x = embed_stage(embedder, train, test)
    return fitted, train_x, test_x
