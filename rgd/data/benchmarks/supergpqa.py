"""SuperGPQA (m-a-p/SuperGPQA): options list, ``answer_letter`` key, 13 disciplines as subjects."""

from __future__ import annotations

from rgd.data.benchmarks.spec import BenchmarkSpec, RowContext, SkipRow, as_list
from rgd.data.schema import Provenance, Question, index_to_letter


def to_question(row, ctx: RowContext) -> Question:
    options = as_list(row["options"])
    letter = row.get("answer_letter")
    if not letter:  # fall back to the answer text, which must be one of the options
        text = row.get("answer")
        if text is None:
            raise KeyError("answer_letter")
        if str(text) not in options:
            raise SkipRow("answer_text_not_in_options")
        letter = index_to_letter(options.index(str(text)))
    return Question(
        id=str(row["uuid"]),
        subject=str(row["discipline"]),
        text=str(row["question"]),
        options=options,
        answer=str(letter),
        provenance=Provenance(kind="benchmark", source="supergpqa"),
    )


SPEC = BenchmarkSpec(
    name="supergpqa",
    hub_path="m-a-p/SuperGPQA",
    hub_split="train",
    to_question=to_question,
    required_fields=("uuid", "question", "options", "discipline"),
)
