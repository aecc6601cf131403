"""The domain schema: multiple-choice questions and the responses a pool gives to them."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rgd.errors import ParameterError

LETTERS = string.ascii_uppercase
MAX_OPTIONS = 26


def letter_to_index(letter: str) -> int:
    """'A' -> 0 ... 'Z' -> 25; raises ValueError for anything else."""
    if not isinstance(letter, str) or len(letter.strip()) != 1 or letter.strip().upper() not in LETTERS:
        raise ParameterError(f"not an option letter: {letter!r}")
    return LETTERS.index(letter.strip().upper())


def index_to_letter(index: int) -> str:
    return LETTERS[index]


class Provenance(BaseModel):
    """Where a question came from: a benchmark, or a generator model with its prompt and seed."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["benchmark", "generated", "simulated"] = "benchmark"
    source: str = Field(description="benchmark name, or the generator model's name")
    prompt_version: str | None = None
    seed: int | None = None


class Question(BaseModel):
    """One multiple-choice question. The answer key is optional: generated data may carry a wrong one."""

    model_config = ConfigDict(frozen=True)

    id: str
    subject: str
    text: str
    options: list[str] = Field(min_length=1, max_length=MAX_OPTIONS)
    answer: str | None = None
    provenance: Provenance = Provenance(kind="benchmark", source="unknown")

    @field_validator("answer")
    @classmethod
    def _answer_is_letter(cls, v: str | None) -> str | None:
        if v is None:
            return None
        letter_to_index(v)
        return v.strip().upper()

    @model_validator(mode="after")
    def _answer_within_options(self) -> "Question":
        if self.answer is not None and letter_to_index(self.answer) >= len(self.options):
            raise ParameterError(
                f"answer {self.answer!r} is outside the {len(self.options)} options of question {self.id!r}"
            )
        return self

    @property
    def answer_index(self) -> int | None:
        return None if self.answer is None else letter_to_index(self.answer)


class Response(BaseModel):
    """One model's answer to one question."""

    model_config = ConfigDict(frozen=True)

    model: str
    question_id: str
    choice: str | None = Field(default=None, description="chosen option letter, None when no answer")
    confidence: float | None = Field(default=None, description="mean token log-probability of the answer")
    raw_text: str | None = None

    @field_validator("choice")
    @classmethod
    def _choice_is_letter(cls, v: str | None) -> str | None:
        if v is None:
            return None
        letter_to_index(v)
        return v.strip().upper()
