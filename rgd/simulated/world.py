"""The simulated world: subjects, each with latent skill niches that have their own vocabulary.

Question texts are English templates filled with a niche's terms and its subject's shared terms, so TF-IDF or
MiniLM embeddings cluster them by niche. A subject of :data:`rgd.simulated.lexicon.LEXICON` (each default
subject) speaks real words: its shared words, and per niche one of its topics' (biology's molecular genetics,
ecology and evolution, ...), key terms first, so a real question of that subject shares terms with its niche's
questions. Other subjects, and niches beyond a subject's topics, speak made-up words. The words are all the
lexicon changes: every random draw of the world is that of the same world in made-up words, each real word
takes the place of one made-up word, so its niches, difficulties and question structure stay the same.

The world keeps every question's latent truth (niche, difficulty, true key, shared distractor) in a
:class:`LatentRegistry`, out of the questions themselves, and makes the "real" benchmark with true keys via
:meth:`World.benchmark`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rgd.config.simulated import WorldConfig
from rgd.data.schema import Provenance, Question
from rgd.errors import ParameterError
from rgd.simulated.lexicon import LEXICON
from rgd.simulated.randomness import stable_hash
from rgd.simulated.registry import NORMAL, Latent, LatentArrays, LatentRegistry
from rgd.simulated.vocabulary import (
    OPTION_TEMPLATES,
    QUESTION_TEMPLATES,
    fill,
    insert_noise,
    make_words,
    zipf_weights,
)


@dataclass(frozen=True)
class Niche:
    """A latent skill niche of one subject, with its own terms."""

    id: int
    subject: str
    name: str
    words: tuple[str, ...]
    terms: tuple[str, ...]  # the words, some as fixed two-word compounds ("key terms" of the niche)
    difficulty_offset: float
    topic: str  # what the niche is about: its lexicon topic ("molecular genetics"), else its first words


@dataclass(frozen=True)
class Composed:
    text: str
    options: list[str]
    key: int
    distractor: int


def _words_of(lexicon) -> list[str]:
    return [*lexicon.shared, *(w for _, words in lexicon.topics for w in words)]


def _real_first(real: Sequence[str], made_up: Sequence[str]) -> list[str]:
    """As many words as ``made_up`` has: the real ones first (key terms first), made-up ones where they run out."""
    return [*real[: len(made_up)], *made_up[len(real):]]


class World:
    """Subjects, niches, vocabularies and the latent registry shared by the simulated pool and generators."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, 0x5EED])
        self.subjects: list[str] = cfg.subjects()
        # made-up words are drawn for every subject and niche as they always were (none a lexicon word), and a
        # lexicon's real words take their places: every draw of the world is the same whichever words it speaks
        taken: set[str] = {w for lexicon in LEXICON.values() for w in _words_of(lexicon)}
        used: set[str] = set()
        self.subject_words: dict[str, tuple[str, ...]] = {}
        self.niches: list[Niche] = []
        for subject in self.subjects:
            lexicon = LEXICON.get(subject)
            topics = lexicon.topics if lexicon else ()
            words = make_words(cfg.subject_vocab_size, rng, taken)
            taken.update(words)
            self.subject_words[subject] = tuple(_real_first(lexicon.shared if lexicon else (), words))
            used.update(self.subject_words[subject])
            for k in range(cfg.niches_per_subject):
                nwords = make_words(cfg.niche_vocab_size, rng, taken)
                taken.update(nwords)
                offset = float(rng.normal(0.0, cfg.niche_difficulty_sd))
                partners = (np.arange(len(nwords)) + rng.integers(1, len(nwords), len(nwords))) % len(nwords)
                compound = rng.random(len(nwords)) < cfg.compound_term_rate
                topic, name = " ".join(nwords[:3]), f"{subject}/{nwords[0]}"
                if k < len(topics):
                    topic, nwords = topics[k][0], _real_first(topics[k][1], nwords)
                    name = f"{subject}/{topic.replace(' ', '_')}"
                used.update(nwords)
                terms = tuple(f"{w} {nwords[p]}" if c else w for w, p, c in zip(nwords, partners, compound))
                self.niches.append(Niche(len(self.niches), subject, name, tuple(nwords), terms, offset, topic))
        self.all_words: tuple[str, ...] = tuple(sorted(used))
        self.registry = LatentRegistry()
        self._term_weights = zipf_weights(cfg.niche_vocab_size, cfg.term_zipf_exponent)

    # ------------------------------------------------------------------ structure
    @property
    def n_niches(self) -> int:
        return len(self.niches)

    def niches_of(self, subject: str) -> list[int]:
        if subject not in self.subjects:
            raise ParameterError(f"unknown subject {subject!r}; the world's subjects are {self.subjects}")
        return [n.id for n in self.niches if n.subject == subject]

    def niche_subject_index(self) -> np.ndarray:
        """(n_niches,) index into ``subjects`` of each niche's subject."""
        return np.array([self.subjects.index(n.subject) for n in self.niches], dtype=np.int64)

    def subject_descriptions(self) -> dict[str, str]:
        """A short description per subject naming its niches' leading terms (for generation prompts)."""
        out = {}
        for s in self.subjects:
            topics = ", ".join(self.niches[i].topic for i in self.niches_of(s))
            out[s] = f"Graduate-level questions in {s.replace('_', ' ')}, covering topics such as {topics}."
        return out

    def subject_specs(self, n_options: int | None = None) -> list:
        """The subjects as ``rgd.data.subjects.SubjectSpec`` (for generation prompts).

        ``n_options`` defaults to the middle of the world's option range.
        """
        from rgd.data.subjects import SubjectSpec

        k = n_options or (self.config.min_options + self.config.max_options) // 2
        return [SubjectSpec(name=s, description=d, n_options=k) for s, d in self.subject_descriptions().items()]

    # ------------------------------------------------------------------ questions
    def compose(self, niche: int, rng: np.random.Generator, n_noise: int = 0, n_options: int | None = None,
                qid: str | None = None) -> Composed:
        """A question text and its options for a niche, new to the registry unless it is ``qid``'s own text.

        ``n_options`` fixes the number of options (default: uniform in the world's range). Passing the id the
        question will get lets a replay (same id, same seed) reproduce its question in the same world.
        """
        nich = self.niches[niche]
        swords = list(self.subject_words[nich.subject])
        nwords, nterms = list(nich.words), list(nich.terms)
        for _ in range(100):
            template = QUESTION_TEMPLATES[rng.integers(len(QUESTION_TEMPLATES))]
            text = fill(template, nterms, swords, nich.subject.replace("_", " "), rng, self._term_weights)
            if n_noise:
                noise = [self.all_words[i] for i in rng.integers(len(self.all_words), size=n_noise)]
                text = insert_noise(text, noise)
            if self.registry.text_free_for(qid, text):
                break
        else:
            raise RuntimeError(f"niche {niche}: could not compose a new question text; enlarge the vocabulary")
        if n_options is not None and not 2 <= n_options <= 26:
            raise ParameterError(f"n_options must lie in [2, 26], got {n_options}")
        n_opt = n_options or int(rng.integers(self.config.min_options, self.config.max_options + 1))
        options: list[str] = []
        seen: set[str] = set()
        while len(options) < n_opt:
            opt = fill(OPTION_TEMPLATES[rng.integers(len(OPTION_TEMPLATES))], nwords, swords, "", rng)
            if opt not in seen:
                seen.add(opt)
                options.append(opt)
        key, distractor = (int(v) for v in rng.choice(n_opt, size=2, replace=False))
        return Composed(text, options, key, distractor)

    def draw_difficulty(self, niches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        offs = np.array([n.difficulty_offset for n in self.niches])[niches]
        return offs + rng.normal(self.config.difficulty_mean, self.config.difficulty_sd, size=len(niches))

    def benchmark(self, n_train: int, n_test: int, seed: int = 0) -> tuple[list[Question], list[Question]]:
        """The world's "real" labelled data: ``n_train`` + ``n_test`` questions with TRUE keys.

        Niches are balanced (round robin, then shuffled) and the split is stratified by niche. The same
        arguments always give the same questions.
        """
        if n_train < 0 or n_test < 0 or n_train + n_test == 0:
            raise ParameterError(f"need n_train, n_test >= 0 and some questions, got {n_train}, {n_test}")
        rng = np.random.default_rng([self.config.seed, 0xBE7C, seed])
        total = n_train + n_test
        # stratified: every niche contributes to both splits in proportion
        niches = np.arange(total) % self.n_niches
        rng.shuffle(niches)
        order = np.argsort(niches, kind="stable")
        split_of = np.empty(total, dtype=bool)  # True: test
        for nid in range(self.n_niches):
            idx = order[niches[order] == nid]
            n_t = round(len(idx) * n_test / total)
            split_of[idx] = False
            split_of[idx[:n_t]] = True
        # fix rounding so the split sizes are exact
        diff = int(split_of.sum()) - n_test
        if diff:
            cand = np.flatnonzero(split_of if diff > 0 else ~split_of)
            split_of[rng.choice(cand, size=abs(diff), replace=False)] = diff < 0
        difficulty = self.draw_difficulty(niches, rng)
        prov = Provenance(kind="simulated", source=f"simulated-world-{self.config.seed}", seed=seed)
        train, test = [], []
        counts = {False: 0, True: 0}
        for i in range(total):
            is_test = bool(split_of[i])
            split = "test" if is_test else "train"
            qid = f"sim{self.config.seed}-s{seed}-{split}-{counts[is_test]:06d}"
            counts[is_test] += 1
            c = self.compose(int(niches[i]), rng, qid=qid)
            q = Question(id=qid, subject=self.niches[niches[i]].subject, text=c.text, options=c.options,
                         answer="ABCDEFGHIJKLMNOPQRSTUVWXYZ"[c.key], provenance=prov)
            self.registry.register(qid, c.text, c.options,
                                   Latent(int(niches[i]), float(difficulty[i]), c.key, c.distractor, NORMAL))
            (test if is_test else train).append(q)
        return train, test

    # ------------------------------------------------------------------ latent truth
    def latent(self, questions: Sequence[Question]) -> LatentArrays:
        """Latent arrays (niche, difficulty, true key, ...) aligned with ``questions``."""
        return self.registry.latent(questions)

    def latent_map(self, questions: Sequence[Question]) -> dict[str, tuple[int, float]]:
        """id -> (niche, difficulty), the side structure the brief of the world promises."""
        la = self.latent(questions)
        return {q.id: (int(n), float(d)) for q, n, d in zip(questions, la.niche, la.difficulty)}

    def true_keys(self, questions: Sequence[Question]) -> np.ndarray:
        return self.latent(questions).key

    def fingerprint(self) -> int:
        """A hash of the world's configuration (models key their randomness with it)."""
        return stable_hash(self.config.model_dump_json())
