"""MMLU-Pro (TIGER-Lab/MMLU-Pro): up to 10 options, letter key, 14 categories."""

from __future__ import annotations

from rgd.data.benchmarks.spec import BenchmarkSpec, RowContext, as_list
from rgd.data.schema import Provenance, Question, index_to_letter


def to_question(row, ctx: RowContext) -> Question:
    options = as_list(row["options"])
    answer = row.get("answer")
    if answer is None and row.get("answer_index") is not None:
        answer = index_to_letter(int(row["answer_index"]))
    return Question(
        id=str(row["question_id"]),
        subject=str(row["category"]),
        text=str(row["question"]),
        options=options,
        answer=answer,
        provenance=Provenance(kind="benchmark", source="mmlu_pro"),
    )


SPEC = BenchmarkSpec(
    name="mmlu_pro",
    hub_path="TIGER-Lab/MMLU-Pro",
    hub_split="test",
    to_question=to_question,
    required_fields=("question_id", "question", "options", "category"),
)
