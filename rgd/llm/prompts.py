"""Prompts sent to LLMs."""

from __future__ import annotations

from rgd.data.schema import LETTERS, Question


def answer_prompt(question: Question) -> str:
    """A chain-of-thought multiple-choice prompt that asks the model to end with "The answer is (X)"."""
    letters = LETTERS[: len(question.options)]
    options = "\n".join(f"({letter}) {option}" for letter, option in zip(letters, question.options))
    return (
        f"The following is a multiple-choice question about {question.subject.replace('_', ' ')}.\n\n"
        f"Question: {question.text.strip()}\n\n"
        f"Options:\n{options}\n\n"
        "Think step by step, then finish your reply with the sentence \"The answer is (X)\", "
        f"where X is one of the letters {', '.join(letters)}."
    )
