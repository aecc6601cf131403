"""Response tables (models x questions): ``ResponseTable.save`` / ``load`` (JSON + NumPy)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, table
from rgd.data.response_table import ResponseTable


class ResponseTableMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (ResponseTable,)
    KIND = "response table"

    def extract_metadata(self, data: ResponseTable) -> dict[str, Any]:
        subjects, counts = np.unique(data.subjects, return_counts=True)
        meta: dict[str, Any] = {"n_models": data.n_models, "n_questions": data.n_questions,
                                "models": ", ".join(data.models),
                                "subjects": {str(s): int(c) for s, c in zip(subjects, counts)},
                                "answer_rate": float((data.choices >= 0).mean()) if data.n_questions else 0.0}
        return meta

    def html(self, data: ResponseTable) -> str:
        answered = (data.choices >= 0).mean(axis=1) if data.n_questions else np.zeros(data.n_models)
        keyed = data.answers >= 0
        agree = ((data.choices[:, keyed] == data.answers[None, keyed]).mean(axis=1)
                 if keyed.any() else np.full(data.n_models, np.nan))
        rows = [(m, float(a), float(k)) for m, a, k in zip(data.models, answered, agree)]
        return (f"<h3>{data.n_models} models x {data.n_questions} questions</h3>"
                + table(["model", "answered", "agrees with key"], rows))
