"""Top-k consensus: each answer's option letter (the product's answer extraction), the majority wins.

Ties go to the option whose best-ranked voter ranks higher; the response returned is the one of the
best-ranked model that voted for the winner. When no answer names an option (free-form chat), there is
no vote: the first-ranked model's response is returned and the result says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rgd.data.schema import LETTERS
from rgd.llm.extraction import extract_choice

# "A. ...", "(B) ...", "C) ..." at the start of a line: the options of a multiple-choice question
_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\s+\S", re.MULTILINE)


def n_options(question: str) -> int:
    """How many options the question lists (consecutive letters from A), else every letter is allowed."""
    letters = {m.group(1) for m in _OPTION_LINE.finditer(question)}
    n = 0
    while n < len(LETTERS) and LETTERS[n] in letters:
        n += 1
    return n if n >= 2 else len(LETTERS)


def reply_text(body: dict[str, Any]) -> str | None:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


@dataclass
class Vote:
    model: str
    rank: int  # 0 = the router's first choice
    answer: str | None


@dataclass
class ConsensusResult:
    winner: int  # index into the votes / replies given
    answer: str | None
    votes: list[Vote]
    extracted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "votes": [{"model": v.model, "rank": v.rank, "answer": v.answer} for v in self.votes],
            "consensus": "majority" if self.extracted else "no_answer_extracted: first-ranked model's response",
        }


def decide(votes: list[Vote]) -> ConsensusResult:
    """The majority answer among ``votes`` (any order); ties: the higher-ranked model's answer."""
    if not votes:
        raise ValueError("no votes")
    by_rank = sorted(range(len(votes)), key=lambda i: votes[i].rank)
    counts: dict[str, int] = {}
    best_rank: dict[str, int] = {}
    for i in by_rank:
        a = votes[i].answer
        if a is not None:
            counts[a] = counts.get(a, 0) + 1
            best_rank.setdefault(a, votes[i].rank)
    if not counts:
        return ConsensusResult(by_rank[0], None, votes, False)
    answer = min(counts, key=lambda a: (-counts[a], best_rank[a]))
    winner = next(i for i in by_rank if votes[i].answer == answer)
    return ConsensusResult(winner, answer, votes, True)


def answer_of(body: dict[str, Any], question: str) -> str | None:
    return extract_choice(reply_text(body), n_options(question))
