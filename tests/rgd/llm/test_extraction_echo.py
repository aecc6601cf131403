"""A model that re-prints the options has not answered (issue 13, class 12): the option list is not taken
for a choice, while an answer cue after it still counts."""

from __future__ import annotations

import pytest

from rgd.llm.extraction import extract_choice

ECHO_LINES = "Options:\n(A) Berlin\n(B) Madrid\n(C) Paris\n(D) Rome"
ECHO_INLINE = "Question: capital of France? (A) Berlin (B) Madrid (C) Paris (D) Rome"


@pytest.mark.parametrize("text", [
    ECHO_LINES,
    ECHO_INLINE,
    "The options are\nA) Berlin\nB) Madrid\nC) Paris",
    ECHO_LINES + "\n\nQuestion: What is 2 + 2?\nOptions:\n(A) 3\n(B) 4",  # a base model running on
])
def test_an_option_list_echo_is_no_answer(text):
    assert extract_choice(text, 4) is None


@pytest.mark.parametrize("text, expected", [
    (ECHO_LINES + "\nThe answer is (C).", "C"),
    (ECHO_LINES + "\nAnswer: B", "B"),
    (ECHO_LINES + "\nParis is the capital, so I pick (C).", "C"),
    ("Between (B) and (C), Madrid is not it, so (C).", "C"),
    ("I would go with option D", "D"),
])
def test_answers_around_an_echo_still_count(text, expected):
    assert extract_choice(text, 4) == expected
