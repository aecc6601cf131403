"""ZenML materializers for RGD artifacts: each delegates to its type's own ``save`` / ``load`` (JSON + NumPy on
disk, never pickle) and adds metadata and an HTML visualization for the dashboard. Importing this package
registers them with ZenML."""

from materializers.consensus import ConsensusMaterializer
from materializers.embeddings import EmbedderMaterializer, EmbeddingMatrixMaterializer
from materializers.question_set import QuestionSetMaterializer
from materializers.response_table import ResponseTableMaterializer
from materializers.routers import RouterBundleMaterializer, RouterSetMaterializer
from materializers.training_data import TrainingDataMaterializer

__all__ = [
    "ConsensusMaterializer",
    "EmbedderMaterializer",
    "EmbeddingMatrixMaterializer",
    "QuestionSetMaterializer",
    "ResponseTableMaterializer",
    "RouterBundleMaterializer",
    "RouterSetMaterializer",
    "TrainingDataMaterializer",
]
