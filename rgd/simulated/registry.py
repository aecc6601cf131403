"""The latent side of simulated questions: niche, difficulty, true key, shared distractor, kind.

None of this is in :class:`rgd.data.schema.Question`. The registry finds a question's latent row by id, or by
its content (text and options, whitespace-normalised) when a parser re-created it under another id; the
row's content hash keys every random draw about the question, so answers do not depend on ids or order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rgd.data.schema import Question
from rgd.errors import DataError, ParameterError
from rgd.simulated.randomness import stable_hash

#: question kinds: ordinary, too easy (every model right), too hard (nobody can solve: answers are guesses)
NORMAL, TOO_EASY, TOO_HARD = 0, 1, 2
KIND_NAMES = {NORMAL: "normal", TOO_EASY: "too_easy", TOO_HARD: "too_hard"}


def content_key(text: str, options: Sequence[str]) -> str:
    norm = " ".join(text.split())
    return norm + "\x1f" + "\x1e".join(" ".join(o.split()) for o in options)


@dataclass(frozen=True)
class Latent:
    """The hidden truth about one question."""

    niche: int
    difficulty: float
    key: int  # true answer index
    distractor: int  # the plausible wrong option weak models share
    kind: int = NORMAL


@dataclass(frozen=True)
class LatentArrays:
    """Latent fields of a batch of questions, aligned with the batch."""

    niche: np.ndarray  # (Q,) int32
    difficulty: np.ndarray  # (Q,) float64
    key: np.ndarray  # (Q,) int64
    distractor: np.ndarray  # (Q,) int64
    kind: np.ndarray  # (Q,) int8
    n_options: np.ndarray  # (Q,) int64
    qhash: np.ndarray  # (Q,) uint64


class LatentRegistry:
    """Growable arrays of latent rows with id and content lookups."""

    def __init__(self) -> None:
        self._cap = 0
        self._n = 0
        self._arrays: dict[str, np.ndarray] = {}
        self._by_id: dict[str, int] = {}
        self._by_content: dict[str, int] = {}
        self._by_text: dict[str, int] = {}
        self._texts: list[str] = []
        self._grow(1024)

    def __len__(self) -> int:
        return self._n

    def _grow(self, cap: int) -> None:
        specs = {
            "niche": np.int32, "difficulty": np.float64, "key": np.int64, "distractor": np.int64,
            "kind": np.int8, "n_options": np.int64, "qhash": np.uint64,
        }
        new = {name: np.zeros(cap, dtype=dt) for name, dt in specs.items()}
        for name, arr in self._arrays.items():
            new[name][: self._n] = arr[: self._n]
        self._arrays, self._cap = new, cap

    # ------------------------------------------------------------------ writing
    def register(self, qid: str, text: str, options: Sequence[str], latent: Latent) -> int:
        """Add a question (idempotent for the same id and content); returns its row."""
        n_opt = len(options)
        if not 0 <= latent.key < n_opt or not 0 <= latent.distractor < n_opt or latent.key == latent.distractor:
            raise ParameterError(f"question {qid!r}: key {latent.key} / distractor {latent.distractor} invalid for "
                             f"{n_opt} options")
        ckey = content_key(text, options)
        norm_text = " ".join(text.split())
        row = self._by_content.get(ckey)
        if row is not None:
            if qid in self._by_id and self._by_id[qid] != row:
                raise DataError(f"question id {qid!r} is already registered with different content")
            self._by_id[qid] = row
            return row
        if qid in self._by_id:
            raise DataError(f"question id {qid!r} is already registered with different content")
        if norm_text in self._by_text:
            raise DataError(f"question {qid!r}: its text is already registered with other options")
        if self._n == self._cap:
            self._grow(2 * self._cap)
        row = self._n
        a = self._arrays
        a["niche"][row] = latent.niche
        a["difficulty"][row] = latent.difficulty
        a["key"][row] = latent.key
        a["distractor"][row] = latent.distractor
        a["kind"][row] = latent.kind
        a["n_options"][row] = n_opt
        a["qhash"][row] = stable_hash(ckey)
        self._by_id[qid] = row
        self._by_content[ckey] = row
        self._by_text[norm_text] = row
        self._texts.append(norm_text)
        self._n += 1
        return row

    def has_text(self, text: str) -> bool:
        return " ".join(text.split()) in self._by_text

    def text_free_for(self, qid: str | None, text: str) -> bool:
        """True when ``text`` is unregistered, or registered as question ``qid`` itself (a replay)."""
        row = self._by_text.get(" ".join(text.split()))
        return row is None or (qid is not None and self._by_id.get(qid) == row)

    # ------------------------------------------------------------------ reading
    def rows(self, questions: Sequence[Question]) -> np.ndarray:
        """Latent rows of the questions (by id, checked against the text; else by content)."""
        out = np.empty(len(questions), dtype=np.int64)
        by_id, texts = self._by_id, self._texts
        for i, q in enumerate(questions):
            row = by_id.get(q.id)
            if row is None or texts[row] != q.text and texts[row] != " ".join(q.text.split()):
                row = self._by_content.get(content_key(q.text, q.options))
                if row is None:
                    raise DataError(
                        f"question {q.id!r} is not part of this simulated world (unknown id and content); "
                        "simulated models answer only questions the world or its generators made"
                    )
            out[i] = row
        return out

    def row_of_text(self, text: str) -> int | None:
        return self._by_text.get(" ".join(text.split()))

    def take(self, rows: np.ndarray) -> LatentArrays:
        a = self._arrays
        rows = np.asarray(rows, dtype=np.int64)
        return LatentArrays(
            niche=a["niche"][rows], difficulty=a["difficulty"][rows], key=a["key"][rows],
            distractor=a["distractor"][rows], kind=a["kind"][rows], n_options=a["n_options"][rows],
            qhash=a["qhash"][rows],
        )

    def latent(self, questions: Sequence[Question]) -> LatentArrays:
        return self.take(self.rows(questions))

    def latent_of(self, question: Question) -> Latent:
        la = self.latent([question])
        return Latent(int(la.niche[0]), float(la.difficulty[0]), int(la.key[0]), int(la.distractor[0]),
                      int(la.kind[0]))
