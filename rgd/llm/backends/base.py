"""The one interface every LLM backend implements.

A backend stands for one model. It generates text for a batch of prompts, and answers multiple-choice
questions with the chosen option, the raw text and the mean token log-probability (the confidence).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

from pydantic import BaseModel, Field

from rgd.data.schema import Question, Response


class SamplingConfig(BaseModel):
    """Sampling parameters shared by every backend."""

    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(1024, gt=0)
    seed: int | None = None


@dataclass(frozen=True)
class Generation:
    """Text generated for one prompt, with the mean log-probability of its tokens when the backend gives it."""

    text: str
    mean_logprob: float | None = None


class LLMBackend(ABC):
    """One model. ``generate`` is the primitive; ``answer`` has a default built on it."""

    #: the pool / generator model name this backend stands for
    model: str

    @abstractmethod
    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        """Generate one completion per prompt, in order."""

    def answer(self, questions: Sequence[Question], sampling: SamplingConfig | None = None) -> list[Response]:
        """Answer each question with chain of thought; extract the chosen letter from the text."""
        from rgd.llm.extraction import extract_choice
        from rgd.llm.prompts import answer_prompt  # local: keeps the interface module light

        gens = self.generate([answer_prompt(q) for q in questions], sampling)
        return [
            Response(
                model=self.model,
                question_id=q.id,
                choice=extract_choice(g.text, n_options=len(q.options)),
                confidence=g.mean_logprob,
                raw_text=g.text,
            )
            for q, g in zip(questions, gens)
        ]
