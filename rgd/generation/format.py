"""The tagged-block format generators write, and its parser.

One generation holds several blocks like this (extra text around blocks is ignored)::

    <question>
    <subject>physics</subject>
    <text>
    A 2 kg mass ...
    </text>
    <options>
    A) 4 J
    B) 8 J
    C) 16 J
    D) 32 J
    </options>
    <answer>C</answer>
    </question>

Options are one per line, labelled ``A)`` (also accepted: ``A.``, ``A:``, ``(A)``); a line that carries no
label continues the option above it. The answer is one letter (``C``, ``(C)``, ``C)`` or ``C) 16 J`` are
read as C). The ``<subject>`` tag is optional and informative only: the caller says which subject it
asked for. A block that cannot be used is skipped and its reason counted; the parser never raises on
model output.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from rgd.data.schema import LETTERS, Provenance, Question
from rgd.errors import ParameterError

_BLOCK_OPEN = re.compile(r"<question>", re.IGNORECASE)
_BLOCK_CLOSE = re.compile(r"</question>", re.IGNORECASE)
_FENCE_LINE = re.compile(r"^\s*```[\w+-]*\s*$", re.MULTILINE)
_OPTION_LINE = re.compile(r"^\s*(?:\(([A-Z])\)|([A-Z])[).:])(?:\s+(.*?))?\s*$")
_ANSWER = re.compile(r"^\(?\s*([A-Z])\s*\)?(?=$|[.):,]|\s+(?![a-z]))")  # "I cannot..." is prose
_LOWER_ANSWER = re.compile(r"^\(?\s*([a-z])\s*\)?[.:]?$")
_ANSWER_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:correct\s+)?(?:answer|option|choice)\s*(?:is)?\s*[:\-]?\s*", re.I)
_EDGE_PUNCTUATION = ".,;:!?\"'`()[]{}*_"
_TAG_NAMES = ("subject", "text", "options", "answer")


def _field(block: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", block, re.IGNORECASE | re.DOTALL)
    return None if m is None else m.group(1)


def normalise_text(text: str) -> str:
    """Lower-case, single-spaced text without punctuation at word edges: the key for de-duplication.

    Symbols inside words stay, so "2+2" and "2-2" remain different questions.
    """
    return " ".join(t for t in (tok.strip(_EDGE_PUNCTUATION) for tok in text.lower().split()) if t)


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


def question_id(generator: str, text: str) -> str:
    """Stable id of a generated question: ``gen-<generator>-<hash of its normalised text>``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", generator).strip("_") or "generator"
    return f"gen-{slug}-{text_hash(text)[:16]}"


def render_question_block(question: Question) -> str:
    """Write one question in the tagged-block format; ``parse_generation`` reads it back exactly."""
    for part in (question.text, *question.options):
        if re.search(r"</?(?:question|subject|text|options|answer)>", part, re.IGNORECASE):
            raise ParameterError(f"question {question.id!r} contains a format tag and cannot be rendered")
    for opt in question.options:
        if any(_OPTION_LINE.match(line) for line in opt.splitlines()[1:]):
            raise ParameterError(f"an option of question {question.id!r} has a line that looks like an option label")
    options = "\n".join(f"{LETTERS[i]}) {opt}" for i, opt in enumerate(question.options))
    answer = f"<answer>{question.answer}</answer>\n" if question.answer is not None else ""
    return (
        "<question>\n"
        f"<subject>{question.subject}</subject>\n"
        f"<text>\n{question.text}\n</text>\n"
        f"<options>\n{options}\n</options>\n"
        f"{answer}"
        "</question>"
    )


@dataclass
class ParseResult:
    """Questions read from one generation, and the blocks skipped, counted by reason."""

    questions: list[Question] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def _split_blocks(text: str) -> tuple[list[str], int]:
    """Bodies of the ``<question>`` blocks, and how many were cut off (no close tag, no answer)."""
    starts = [m.end() for m in _BLOCK_OPEN.finditer(text)]
    bodies, unterminated = [], 0
    for i, start in enumerate(starts):
        end = starts[i + 1] - len("<question>") if i + 1 < len(starts) else len(text)
        piece = text[start:end]
        close = _BLOCK_CLOSE.search(piece)
        if close is not None:
            bodies.append(piece[: close.start()])
        elif re.search(r"</answer>", piece, re.IGNORECASE):  # a sloppy but complete block
            bodies.append(piece)
        else:
            unterminated += 1
    return bodies, unterminated


def _clean(value: str) -> str:
    return _FENCE_LINE.sub("", value).strip()


def _parse_options(raw: str) -> tuple[list[str] | None, str | None]:
    letters: list[str] = []
    texts: list[list[str]] = []
    for line in _clean(raw).splitlines():
        m = _OPTION_LINE.match(line)
        if m:
            letters.append(m.group(1) or m.group(2))
            texts.append([(m.group(3) or "").strip()])
        elif not line.strip():
            continue
        elif texts:
            texts[-1].append(line.strip())
        else:
            return None, "unlabelled_option_text"
    if not letters:
        return None, "no_options"
    if len(set(letters)) != len(letters):
        return None, "duplicate_option_letter"
    if letters != list(LETTERS[: len(letters)]):
        return None, "option_letters_not_sequential"
    options = ["\n".join(t).strip() for t in texts]
    if any(not o for o in options):
        return None, "empty_option"
    normalised = [normalise_text(o) or o for o in options]
    if len(set(normalised)) != len(normalised):
        return None, "duplicate_option_text"
    return options, None


def _parse_answer(raw: str) -> str | None:
    value = _ANSWER_PREFIX.sub("", _clean(raw))
    m = _ANSWER.match(value) or _LOWER_ANSWER.match(value)
    return None if m is None else m.group(1).upper()


def _parse_block(
    body: str, expected_options: int | None, subject: str, provenance: Provenance
) -> tuple[Question | None, str | None]:
    fields = {tag: _field(body, tag) for tag in _TAG_NAMES}
    for tag in ("text", "options", "answer"):
        if fields[tag] is None:
            return None, f"missing_{tag}"
    text = _clean(fields["text"])
    if not text:
        return None, "empty_text"
    options, problem = _parse_options(fields["options"])
    if problem:
        return None, problem
    if len(options) < 2:
        return None, "too_few_options"
    if expected_options is not None and len(options) != expected_options:
        return None, "wrong_option_count"
    answer = _parse_answer(fields["answer"])
    if answer is None:
        return None, "unreadable_answer"
    if LETTERS.index(answer) >= len(options):
        return None, "answer_outside_options"
    try:
        question = Question(
            id=question_id(provenance.source, text),
            subject=subject,
            text=text,
            options=options,
            answer=answer,
            provenance=provenance,
        )
    except ValidationError:
        return None, "invalid_question"
    return question, None


def parse_generation(
    text: str, expected_options: int | None, subject: str, provenance: Provenance
) -> ParseResult:
    """Every usable question in ``text``; each unusable block is counted under its reason."""
    result = ParseResult()
    if not isinstance(text, str) or not text.strip():
        result.skipped["empty_generation"] += 1
        return result
    bodies, unterminated = _split_blocks(text)
    if unterminated:
        result.skipped["unterminated_block"] += unterminated
    if not bodies and not unterminated:
        result.skipped["no_question_blocks"] += 1
        return result
    for body in bodies:
        question, reason = _parse_block(body, expected_options, subject, provenance)
        if question is None:
            result.skipped[reason] += 1
        else:
            result.questions.append(question)
    return result
