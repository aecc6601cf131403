"""Chat answers of the simulated pool's models, for any text: what ``rgd demo-upstreams`` serves.

A simulated model answers only questions of its world (:meth:`SimulatedModel.generate`); a chat message is any
text. :class:`ChatAnswerer` places a text in the world's niche whose terms it shares most (by hash when it shares
none), makes up that question's hidden truth from the text's hash (difficulty from the niche, key and distractor
among the options it lists, four when it lists none) and lets each model answer it with the world's answer model
(:func:`rgd.simulated.answering.simulate_answers`). So a specialist asked about its niche answers right more often
than a generalist, the same text always gets the same answer, and nothing leaves the process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rgd.data.schema import LETTERS
from rgd.errors import ParameterError
from rgd.simulated.answering import simulate_answers
from rgd.simulated.pool import SimulatedPool
from rgd.simulated.randomness import stable_hash
from rgd.simulated.registry import NORMAL, LatentArrays

_WORD = re.compile(r"[a-z]+")
_OPTION = re.compile(r"^\s*\(?([A-J])[).:]\s", re.MULTILINE)


@dataclass(frozen=True)
class ChatAnswer:
    model: str
    text: str
    choice: str  # the option letter the text ends with
    mean_logprob: float
    subject: str | None  # the subject whose terms the question shares, None when it shares none


def listed_options(text: str) -> int:
    """How many options the text lists as ``A)`` / ``(B)`` / ``C.`` lines, in order from A; 4 when fewer than 2."""
    found = set(_OPTION.findall(text))
    n = 0
    while n < len(LETTERS) and LETTERS[n] in found:
        n += 1
    return n if n >= 2 else 4


class ChatAnswerer:
    """Answers of every model of ``pool`` to free text (deterministic per model and text)."""

    def __init__(self, pool: SimulatedPool) -> None:
        self.pool = pool
        world = pool.world
        self._niche_of: dict[str, int] = {}
        for niche in world.niches:
            for word in niche.words:
                self._niche_of[word] = niche.id
        self._subject_of = {w: s for s, words in world.subject_words.items() for w in words}
        self._index = {name: i for i, name in enumerate(pool.names)}

    @property
    def models(self) -> list[str]:
        return list(self.pool.names)

    def niche(self, text: str) -> tuple[int, bool]:
        """The niche whose terms the text shares most (ties: the lower id), and whether it shares any; a text
        sharing only a subject's general words goes to that subject's niche picked by hash, one sharing
        nothing to any niche by hash."""
        words = _WORD.findall(text.lower())
        counts = np.bincount([self._niche_of[w] for w in words if w in self._niche_of],
                             minlength=self.pool.world.n_niches)
        if counts.any():
            return int(np.argmax(counts)), True
        h = stable_hash(" ".join(text.split()))
        subjects = [self._subject_of[w] for w in words if w in self._subject_of]
        if subjects:
            niches = self.pool.world.niches_of(max(set(subjects), key=subjects.count))
            return niches[h % len(niches)], True
        return h % self.pool.world.n_niches, False

    def answer(self, model: str, text: str) -> ChatAnswer:
        if model not in self._index:
            raise ParameterError(f"{model!r} is not a model of the simulated pool ({', '.join(self.pool.names)})")
        world = self.pool.world
        nid, known = self.niche(text)
        n_opt = listed_options(text)
        h = stable_hash(" ".join(text.split()))
        key = h % n_opt
        distractor = (key + 1 + (h >> 8) % (n_opt - 1)) % n_opt
        la = LatentArrays(
            niche=np.array([nid], dtype=np.int32), difficulty=np.array([world.niches[nid].difficulty_offset]),
            key=np.array([key], dtype=np.int64), distractor=np.array([distractor], dtype=np.int64),
            kind=np.array([NORMAL], dtype=np.int8), n_options=np.array([n_opt], dtype=np.int64),
            qhash=np.array([h], dtype=np.uint64))
        choices, conf = simulate_answers(self.pool.params[self._index[model]], la)
        letter = LETTERS[int(choices[0, 0])]
        niche = world.niches[nid]
        if known:
            reply = (f"[{model}, a simulated model] This is about {niche.topic} ({niche.subject}). "
                     f"Weighing each option in turn, the answer is ({letter}).")
        else:
            reply = (f"[{model}, a simulated model] This question shares no term with the simulated world's "
                     f"subjects, so this is a guess: the answer is ({letter}).")
        return ChatAnswer(model, reply, letter, float(conf[0, 0]), niche.subject if known else None)
