"""The generation prompt: graduate-level multiple-choice questions on one subject, several per call.

The prompt's first lines are a fixed header (``Subject:``, ``Questions:``, ``Options per question:``,
``Set:``) so that a program standing in for a model (the simulated generators) can read what was asked
with :func:`read_generation_request`. Change ``PROMPT_VERSION`` whenever the wording changes: it is
recorded in every generated question's provenance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rgd.data.schema import LETTERS
from rgd.data.subjects import SubjectSpec
from rgd.errors import ParameterError

PROMPT_VERSION = "rgd-gen-v1"

_TEMPLATE = """\
Subject: {subject}
Questions: {n}
Options per question: {k}
Set: {variant}

You are writing questions for a demanding graduate-level examination in the subject above.

What the subject covers: {description}

Write {n} new multiple-choice questions on this subject. Requirements:
- Each question needs real expertise or several steps of reasoning; no trivia a layperson could guess.
- Each question has exactly {k} options labelled {first} to {last}, exactly one of them correct, the
  others plausible but clearly wrong to an expert.
- The questions must be self-contained and differ from each other; vary the subtopics (this is set
  {variant}, so avoid the most obvious examples).
- Put the correct option at varying positions.

Write each question in exactly this format, and nothing else between the blocks:

<question>
<subject>{subject}</subject>
<text>
The full question text.
</text>
<options>
{option_lines}
</options>
<answer>the letter of the correct option</answer>
</question>
"""


def build_generation_prompt(subject: SubjectSpec, n_questions: int, variant: int = 0) -> str:
    """The prompt asking for ``n_questions`` questions on ``subject``; ``variant`` numbers the request."""
    if n_questions < 1:
        raise ParameterError(f"n_questions must be >= 1, got {n_questions}")
    k = subject.n_options
    if k is None:
        raise ParameterError(f"subject {subject.name!r} has no n_options; load it through a SubjectSet")
    return _TEMPLATE.format(
        subject=subject.name,
        n=n_questions,
        k=k,
        variant=variant,
        description=subject.description,
        first=LETTERS[0],
        last=LETTERS[k - 1],
        option_lines="\n".join(f"{LETTERS[i]}) option text" for i in range(k)),
    )


@dataclass(frozen=True)
class GenerationRequest:
    """What a generation prompt asks for."""

    subject: str
    n_questions: int
    n_options: int
    variant: int


_HEADER = re.compile(
    r"\ASubject: (?P<subject>[^\n]+)\nQuestions: (?P<n>\d+)\nOptions per question: (?P<k>\d+)\nSet: (?P<v>\d+)\n"
)


def read_generation_request(prompt: str) -> GenerationRequest | None:
    """Read the header of a prompt built by :func:`build_generation_prompt` (None for any other text)."""
    m = _HEADER.match(prompt)
    if m is None:
        return None
    return GenerationRequest(m["subject"], int(m["n"]), int(m["k"]), int(m["v"]))
