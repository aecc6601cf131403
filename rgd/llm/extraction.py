"""Answer extraction from chain-of-thought text.

``extract_choice`` finds the option letter a model chose in free text. The rules, strongest first; the first
rule that matches decides, and a letter beyond the question's options makes the answer ``None`` (the model
named an option that does not exist, it does not fall through to a weaker rule):

1. "the answer is (X)" and its variants ("The correct answer is X.", "answer is: **X**", "answer is option X");
   the first such phrase wins (few-shot models often run on into a next question with its own answer).
2. ``\\boxed{X}`` (also ``\\boxed{\\text{X}}``, ``\\boxed{(X)}``); the last one wins.
3. "Answer: X"; the last one wins.
4. The last standalone option letter, written as an option: "(X)", "X)" or "option X". A bare capital
   letter is not enough: measured on MMLU-Pro outputs it is mostly a unit (J, C, K), a variable or the
   article "A", and it lowered agreement with the recorded answers by 2 to 4 points. Letters of an option
   list (a run reading A, B, C, ... in order: a model re-printing the options) are not choices.

``extract_value`` and ``answers_match`` handle free-form answers (numbers, expressions, words; BBEH) with the
``math-verify`` package (optional extra ``math``).
"""

from __future__ import annotations

import re

from rgd.data.schema import LETTERS
from rgd.errors import ParameterError

_L = r"([A-Za-z])"

# rule 1: "answer is (X)"; lower-case letters only inside brackets or bold (a bare "a" is the article)
_ANSWER_IS = re.compile(
    r"(?i:answer\s+is\s*:?\s*(?:option\s+|choice\s+)?)"
    r"(?:\(\s*" + _L + r"\s*\)|\*\*\s*\(?\s*" + _L + r"\s*\)?\s*\*\*|\$?\\boxed\{\s*(?:\\text\{)?\s*\(?" + _L
    + r"\)?\s*\}?\s*\}|([A-Z])(?![\w']))"
)
# rule 2: \boxed{X}
_BOXED = re.compile(r"\\boxed\{\s*(?:\\(?:text|mathrm|textbf)\{)?\s*\(?\s*([A-Za-z])\s*\)?\s*\}?\s*\}")
# rule 3: "Answer: X"
_ANSWER_COLON = re.compile(r"(?i:answer\s*:\s*)\**\s*(?:\(\s*([A-Za-z])\s*\)|([A-Z])(?![\w']))")
# rule 4: standalone letters
_BRACKETED = re.compile(r"(?:\(([A-Z])\)|(?<![\w(])([A-Z])\)|\b(?i:option)\s+([A-Z])\b)")


def _letter(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g).upper()


def _checked(letter: str, n_options: int) -> str | None:
    return letter if LETTERS.index(letter) < n_options else None


def extract_choice(text: str | None, n_options: int) -> str | None:
    """The option letter chosen in ``text`` (``'A'``..), or ``None`` when none can be found or it is out of range."""
    if n_options < 1 or n_options > len(LETTERS):
        raise ParameterError(f"n_options must be between 1 and {len(LETTERS)}, got {n_options}")
    if not text:
        return None
    m = _ANSWER_IS.search(text)
    if m:
        return _checked(_letter(m), n_options)
    found = list(_BOXED.finditer(text))
    if found:
        return _checked(_letter(found[-1]), n_options)
    found = list(_ANSWER_COLON.finditer(text))
    if found:
        return _checked(_letter(found[-1]), n_options)
    found = _without_option_lists(list(_BRACKETED.finditer(text)))
    if found:
        return _checked(_letter(found[-1]), n_options)
    return None


def _without_option_lists(found: list[re.Match[str]]) -> list[re.Match[str]]:
    """The option letters of rule 4 minus those of an option list: a run of two or more that reads A, B, C, ...
    in order is the model re-printing the options (base models do this), not a choice."""
    letters = [_letter(m) for m in found]
    echo = [False] * len(found)
    i = 0
    while i < len(found):
        if letters[i] == "A":
            j = i + 1
            while j < len(found) and ord(letters[j]) == ord(letters[j - 1]) + 1:
                j += 1
            if j - i >= 2:
                echo[i:j] = [True] * (j - i)
            i = j
        else:
            i += 1
    return [m for m, e in zip(found, echo) if not e]


# ---------------------------------------------------------------------------------- free-form answers
_VALUE_IS = re.compile(r"answer\s+is\s*:?\s*(.+?)\s*(?:\.\s*$|\.\s+[A-Z]|\n|$)", re.IGNORECASE)
_VALUE_COLON = re.compile(r"answer\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def _boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}``, with nested braces balanced."""
    out = []
    start = text.find("\\boxed{")
    while start != -1:
        i = start + len("\\boxed{")
        depth = 1
        j = i
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        if depth == 0:
            out.append(text[i : j - 1].strip())
        start = text.find("\\boxed{", j)
    return out


def extract_value(text: str | None) -> str | None:
    """The final free-form answer in ``text``: the last ``\\boxed{}``, else the last "answer is ...", else
    the last "Answer: ..." line. Returns the answer's text (strip of markdown bold and a trailing period)."""
    if not text:
        return None
    boxed = _boxed_contents(text)
    if boxed:
        return boxed[-1]
    for pattern in (_VALUE_IS, _VALUE_COLON):
        found = list(pattern.finditer(text))
        if found:
            value = found[-1].group(1).strip().strip("*").strip()
            value = value.rstrip(".").strip()
            return value or None
    return None


def _math_verify():
    try:
        import math_verify
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "comparing free-form answers needs the 'math-verify' package: pip install 'rgd-router[math]'"
        ) from exc
    return math_verify


def _normalise(s: str) -> str:
    s = s.strip().strip("*").strip().rstrip(".").strip()
    if len(s) >= 2 and s[0] == "$" and s[-1] == "$":
        s = s.strip("$").strip()
    return re.sub(r"\s+", " ", s).lower()


def answers_match(pred: str | None, gold: str) -> bool:
    """Whether a free-form answer equals the key: the same text (case and spacing aside), or the same
    mathematical value by ``math-verify`` (``"0.5"`` = ``"1/2"`` = ``"\\frac{1}{2}"``)."""
    mv = _math_verify()
    if pred is None:
        return False
    if _normalise(pred) == _normalise(gold):
        return True

    def parsed(s: str):
        s = s.strip()
        return mv.parse(s if "$" in s or "\\" in s else f"${s}$")

    gold_p, pred_p = parsed(gold), parsed(pred)
    if not gold_p or not pred_p:
        return False
    return bool(mv.verify(gold_p, pred_p))
