"""MedMCQA (openlifescienceai/medmcqa): four options ``opa..opd``, key ``cop``, 21 subjects.

``cop`` is the index of the correct option. The hub version counts from 0 (0..3); the original release's
JSON files count from 1 (1..4): ``make_spec(cop_base=1)`` reads those. A letter (``a``..``d``) is accepted
too. A missing key (``-1`` or null: the hub's test split) leaves the question without an answer.
"""

from __future__ import annotations

from functools import partial

from rgd.data.benchmarks.spec import BenchmarkSpec, RowContext
from rgd.data.schema import Provenance, Question, index_to_letter, letter_to_index
from rgd.errors import ParameterError

OPTION_FIELDS = ("opa", "opb", "opc", "opd")


def _answer(cop, cop_base: int) -> str | None:
    if cop is None or (isinstance(cop, str) and not cop.strip()):
        return None
    if isinstance(cop, str) and not cop.strip().lstrip("-").isdigit():
        return index_to_letter(letter_to_index(cop))
    index = int(cop) - cop_base
    if int(cop) < 0:
        return None
    if not 0 <= index < len(OPTION_FIELDS):
        raise ParameterError(
            f"cop={cop} is outside the options for cop_base={cop_base} "
            f"(hub data counts 0..3, the original JSON release 1..4: pick cop_base accordingly)"
        )
    return index_to_letter(index)


def to_question(row, ctx: RowContext, cop_base: int = 0) -> Question:
    return Question(
        id=str(row["id"]),
        subject=str(row.get("subject_name") or "Unknown"),
        text=str(row["question"]),
        options=[str(row[f]) for f in OPTION_FIELDS],
        answer=_answer(row.get("cop"), cop_base),
        provenance=Provenance(kind="benchmark", source="medmcqa"),
    )


def make_spec(cop_base: int = 0) -> BenchmarkSpec:
    if cop_base not in (0, 1):
        raise ParameterError(f"cop_base must be 0 or 1, got {cop_base}")
    return BenchmarkSpec(
        name="medmcqa",
        hub_path="openlifescienceai/medmcqa",
        hub_split="validation",
        to_question=partial(to_question, cop_base=cop_base),
        required_fields=("id", "question", *OPTION_FIELDS),
    )


SPEC = make_spec()
