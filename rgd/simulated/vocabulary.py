"""Synthetic words and sentence templates for the simulated world's question texts.

Each latent niche gets its own list of pronounceable made-up terms, each subject a list of shared terms,
and every question is an English template filled with them: an embedder sees the niche in the terms.
"""

from __future__ import annotations

import numpy as np

_ONSETS = (
    ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cl", "dr", "fl", "gr", "kr", "pl", "pr", "sk", "st", "tr", "vl", "ch", "sh", "th"]
)
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
_CODAS = ["", "", "", "n", "r", "s", "l", "x", "th", "m", "k"]

#: Filler of the templates is plain English; {n} slots take niche terms, {s} subject terms.
QUESTION_TEMPLATES: tuple[str, ...] = (
    "Which of the following best explains how {n} {n} alters the {n} of a {s} {n} during {n} {n}?",
    "In {subject}, a {s} showing strong {n} but weak {n} {n} is most likely to exhibit which {n} {n} {n}?",
    "When {n} {n} is applied to a {n} {s}, what happens to its {n} under {n} {n} conditions?",
    "Which statement about {n} {n} in {s} theory is correct, given a {n} {n} with {n} {n}?",
    "A researcher measures {n} {n} in a {s} {n}. Which {n} best accounts for the observed {n} {n}?",
    "What is the primary role of {n} {n} when a {s} {n} undergoes {n} {n} {n}?",
    "According to {n} {s} analysis, why does the {n} {n} fail to reach {n} {n} {n}?",
    "Which {n} mechanism links {n} {n} and {n} {n} in a {s} {n} setting?",
    "During {n} {s} testing, which factor most limits the {n} {n} of {n} {n} {n}?",
    "How would increasing {n} {n} affect {n} {n} in a typical {s} {n} {n}?",
)

OPTION_TEMPLATES: tuple[str, ...] = (
    "{n} {n}",
    "the {n} of {s}",
    "{s} {n} {n}",
    "increased {n}",
    "reduced {n} {n}",
    "a {n}-driven {s}",
    "{n} without {n}",
    "none of the {n} effects",
)


def make_words(n: int, rng: np.random.Generator, exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct pronounceable words of 2-3 syllables, none in ``exclude``."""
    taken = set() if exclude is None else set(exclude)
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 1000 * (n + 10):
            raise RuntimeError(f"could not make {n} distinct words")
        syllables = int(rng.integers(2, 4))
        word = "".join(
            _ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))] for _ in range(syllables)
        ) + _CODAS[rng.integers(len(_CODAS))]
        if 5 <= len(word) <= 12 and word not in taken:
            taken.add(word)
            out.append(word)
    return out


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    """Term-frequency weights: a niche's first terms recur often, like a topic's key words."""
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def fill(template: str, niche_words: list[str], subject_words: list[str], subject: str,
         rng: np.random.Generator, weights: np.ndarray | None = None) -> str:
    """Fill a template's {n}/{s}/{subject} slots; niche terms are drawn without repetition (by ``weights``)."""
    n_slots = template.count("{n}")
    s_slots = template.count("{s}")
    terms = iter(rng.choice(len(niche_words), size=n_slots, replace=False, p=weights).tolist())
    sterms = iter(rng.choice(len(subject_words), size=s_slots, replace=s_slots > len(subject_words)).tolist())
    out = []
    for piece in template.replace("{subject}", subject).split("{"):
        if piece.startswith("n}"):
            out.append(niche_words[next(terms)] + piece[2:])
        elif piece.startswith("s}"):
            out.append(subject_words[next(sterms)] + piece[2:])
        else:
            out.append(piece)
    return "".join(out)


def insert_noise(text: str, noise: list[str]) -> str:
    """Insert noise words before the final punctuation, spread through the sentence."""
    if not noise:
        return text
    words = text.split(" ")
    step = max(1, len(words) // (len(noise) + 1))
    for i, w in enumerate(noise):
        words.insert(min(len(words) - 1, (i + 1) * step + i), w)
    return " ".join(words)
