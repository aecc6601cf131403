"""Question sets: ``QuestionSet.save`` / ``load`` (JSON lines, simulated latents as NumPy, metadata as JSON)."""

from __future__ import annotations

from typing import Any, ClassVar

from materializers.base import DirectoryMaterializer, table
from rgd.workflow.artifacts import QuestionSet

PREVIEW_ROWS = 50


class QuestionSetMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (QuestionSet,)
    KIND = "question set"

    def extract_metadata(self, data: QuestionSet) -> dict[str, Any]:
        return {"n_questions": len(data), "role": data.role, "generators": ", ".join(data.generators) or "-",
                "subjects": data.subjects, "content_hash": data.content_hash}

    def html(self, data: QuestionSet) -> str:
        subjects = table(["subject", "questions"], sorted(data.subjects.items()), "per subject")
        rows = [(q.id, q.subject, q.text[:160], len(q.options), q.answer or "-", q.provenance.source)
                for q in data.questions[:PREVIEW_ROWS]]
        head = (f"<h3>{len(data)} {data.role} questions</h3><p>generators: "
                f"{', '.join(data.generators) or '-'}; content hash {data.content_hash[:16]}</p>")
        return head + subjects + table(["id", "subject", "text", "options", "key", "source"], rows,
                                       f"first {min(PREVIEW_ROWS, len(data))} questions")
