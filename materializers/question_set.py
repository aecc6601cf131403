"""Question sets as Parquet (one row per question), simulated latents as NumPy, metadata as JSON."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from materializers.base import DirectoryMaterializer, read_json, table, write_json
from rgd.workflow.artifacts import QuestionSet
from rgd.errors import ArtifactError
from rgd.data.schema import Provenance, Question

FORMAT, VERSION = "rgd.question_set", 1
PREVIEW_ROWS = 50


class QuestionSetMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (QuestionSet,)
    KIND = "question set"

    def write(self, data: QuestionSet, directory: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        qs = data.questions
        cols = {
            "id": [q.id for q in qs],
            "subject": [q.subject for q in qs],
            "text": [q.text for q in qs],
            "options": [list(q.options) for q in qs],
            "answer": [q.answer for q in qs],
            "provenance_kind": [q.provenance.kind for q in qs],
            "provenance_source": [q.provenance.source for q in qs],
            "provenance_prompt_version": [q.provenance.prompt_version for q in qs],
            "provenance_seed": [q.provenance.seed for q in qs],
        }
        schema = pa.schema([("id", pa.string()), ("subject", pa.string()), ("text", pa.string()),
                            ("options", pa.list_(pa.string())), ("answer", pa.string()),
                            ("provenance_kind", pa.string()), ("provenance_source", pa.string()),
                            ("provenance_prompt_version", pa.string()), ("provenance_seed", pa.int64())])
        pq.write_table(pa.table(cols, schema=schema), os.path.join(directory, "questions.parquet"))
        if data.latents is not None:
            np.savez(os.path.join(directory, "latents.npz"), **data.latents)
        write_json(directory, "meta.json", {
            "format": FORMAT, "version": VERSION, "role": data.role, "generators": list(data.generators),
            "n_questions": len(data), "content_hash": data.content_hash, "report": data.report,
            "has_latents": data.latents is not None,
        })

    def read(self, directory: str, data_type: type) -> QuestionSet:
        import pyarrow.parquet as pq

        meta = read_json(directory, "meta.json", FORMAT, VERSION)
        cols = pq.read_table(os.path.join(directory, "questions.parquet")).to_pydict()
        questions = tuple(
            Question(id=cols["id"][i], subject=cols["subject"][i], text=cols["text"][i],
                     options=cols["options"][i], answer=cols["answer"][i],
                     provenance=Provenance(kind=cols["provenance_kind"][i], source=cols["provenance_source"][i],
                                           prompt_version=cols["provenance_prompt_version"][i],
                                           seed=cols["provenance_seed"][i]))
            for i in range(len(cols["id"]))
        )
        if len(questions) != meta["n_questions"]:
            raise ArtifactError(f"questions.parquet holds {len(questions)} questions, meta.json says "
                                f"{meta['n_questions']}")
        latents = None
        if meta.get("has_latents"):
            with np.load(os.path.join(directory, "latents.npz"), allow_pickle=False) as npz:
                latents = {k: npz[k] for k in npz.files}
        qset = QuestionSet(questions, tuple(meta["generators"]), meta["role"], latents, meta.get("report") or {})
        if qset.content_hash != meta["content_hash"]:
            raise ArtifactError("content hash mismatch: the stored questions were modified")
        return qset

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
