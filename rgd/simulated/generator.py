"""Simulated generator LLMs with quality knobs, for the test bed of generated training data.

A generator writes questions for the niches it covers; its answer key is right with ``key_accuracy``
(wrong keys fall on the harder questions and are mostly the shared distractor weak pool models pick, since a
weak generator errs like weak models); ``too_easy_rate`` / ``too_hard_rate`` of its questions do not
separate the pool (everyone right / nobody can solve them); ``noise_words`` degrade its texts. Every
question's latent truth is registered in the world so the simulated pool can answer it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from rgd.config.simulated import GeneratorConfig
from rgd.data.response_table import ResponseTable
from rgd.data.schema import LETTERS, Provenance, Question, Response
from rgd.errors import DataError, ParameterError
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.simulated.answering import pick_other_wrong
from rgd.simulated.randomness import combine, keyed_normal, keyed_uniform, stable_hash
from rgd.simulated.registry import NORMAL, TOO_EASY, TOO_HARD, Latent
from rgd.simulated.world import World

PROMPT_VERSION = "simulated-v1"
EASY_DIFFICULTY, HARD_DIFFICULTY = -6.0, 6.0


class SimulatedGenerator(LLMBackend):
    """A generator model of the simulated world."""

    def __init__(self, world: World, config: GeneratorConfig | None = None) -> None:
        self.world = world
        self.config = cfg = config or GeneratorConfig()
        self.model = cfg.name
        self._name_hash = stable_hash(cfg.name)
        rng = np.random.default_rng([world.config.seed, self._name_hash, cfg.seed, 0xC0DE])
        self.covered: dict[str, list[int]] = {}
        for subject in world.subjects:
            niches = world.niches_of(subject)
            k = max(1, round(cfg.niche_coverage * len(niches)))
            self.covered[subject] = sorted(rng.choice(niches, size=k, replace=False).tolist())
        self._threshold = self._calibrate_threshold()
        self._calls: Counter[int] = Counter()
        self._key = np.array([stable_hash(f"{cfg.name}|{cfg.seed}|{world.fingerprint()}")], dtype=np.uint64)

    @property
    def covered_niches(self) -> list[int]:
        return sorted(n for ns in self.covered.values() for n in ns)

    # ------------------------------------------------------------------ latent draws
    def _draw_kind_difficulty(self, niches: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        u = rng.random(len(niches))
        kind = np.where(u < cfg.too_easy_rate, TOO_EASY, np.where(u < cfg.too_easy_rate + cfg.too_hard_rate,
                                                                  TOO_HARD, NORMAL)).astype(np.int8)
        difficulty = self.world.draw_difficulty(niches, rng) + cfg.difficulty_shift
        difficulty = np.where(kind == TOO_EASY, EASY_DIFFICULTY, np.where(kind == TOO_HARD, HARD_DIFFICULTY, difficulty))
        return kind, difficulty

    def _p_wrong_key(self, difficulty: np.ndarray, threshold: float) -> np.ndarray:
        slope = self.config.wrong_key_difficulty_slope
        if slope == 0:
            return np.full(len(difficulty), 1.0 - self.config.key_accuracy)
        return 1.0 / (1.0 + np.exp(-slope * (difficulty - threshold)))

    def _calibrate_threshold(self) -> float:
        """Bisect the difficulty threshold so that the mean key accuracy equals ``key_accuracy``."""
        target = 1.0 - self.config.key_accuracy
        if self.config.wrong_key_difficulty_slope == 0 or target in (0.0, 1.0):
            return 0.0
        rng = np.random.default_rng(12345)
        niches = np.array(self.covered_niches)[rng.integers(len(self.covered_niches), size=20_000)]
        _, d = self._draw_kind_difficulty(niches, rng)
        lo, hi = -50.0, 50.0
        for _ in range(80):
            mid = (lo + hi) / 2
            if self._p_wrong_key(d, mid).mean() > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    # ------------------------------------------------------------------ questions
    def _make(self, subject: str, n: int, rng: np.random.Generator, id_prefix: str, seed: int,
              n_options: int | None = None, prompt_version: str = PROMPT_VERSION) -> list[Question]:
        cfg = self.config
        covered = np.array(self.covered[subject])
        niches = covered[np.arange(n) % len(covered)]
        rng.shuffle(niches)
        kind, difficulty = self._draw_kind_difficulty(niches, rng)
        wrong = rng.random(n) < self._p_wrong_key(difficulty, self._threshold)
        if cfg.wrong_key_difficulty_slope == 0 or cfg.key_accuracy in (0.0, 1.0):
            wrong = rng.random(n) < 1.0 - cfg.key_accuracy
        use_distractor = rng.random(n) < cfg.wrong_key_distractor_rate
        u_other = rng.random(n)
        n_noise = rng.poisson(cfg.noise_words, n) if cfg.noise_words > 0 else np.zeros(n, dtype=np.int64)
        prov = Provenance(kind="generated", source=cfg.name, prompt_version=prompt_version, seed=seed)
        out = []
        for i in range(n):
            qid = f"{id_prefix}-{i:05d}"
            c = self.world.compose(int(niches[i]), rng, int(n_noise[i]), n_options, qid=qid)
            key = c.key
            if wrong[i]:
                key = c.distractor if use_distractor[i] else int(pick_other_wrong(
                    u_other[i : i + 1], np.array([c.key]), np.array([c.distractor]), np.array([len(c.options)]))[0])
            self.world.registry.register(
                qid, c.text, c.options, Latent(int(niches[i]), float(difficulty[i]), c.key, c.distractor, int(kind[i]))
            )
            out.append(Question(id=qid, subject=subject, text=c.text, options=c.options, answer=LETTERS[key],
                                provenance=prov))
        return out

    def generate_questions(self, n_per_subject: int, seed: int = 0) -> list[Question]:
        """``n_per_subject`` questions for every subject (balanced over the covered niches), keys included."""
        if n_per_subject < 1:
            raise ParameterError(f"n_per_subject must be >= 1, got {n_per_subject}")
        out: list[Question] = []
        for si, subject in enumerate(self.world.subjects):
            rng = np.random.default_rng([self.world.config.seed, self._name_hash, self.config.seed, seed, si])
            out += self._make(subject, n_per_subject, rng, f"gen-{self.config.name}-s{seed}-{subject}", seed)
        return out

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        """Tagged question blocks (``rgd.generation.format``) for what each prompt asks.

        A prompt from ``rgd.generation.prompt`` is read through its header (subject, number of questions,
        options per question); any other prompt must name one of the world's subjects and gets
        ``questions_per_call`` questions. The same prompt sent again gets new questions (deterministically).
        """
        from rgd.generation.format import render_question_block
        from rgd.generation.prompt import PROMPT_VERSION as GEN_PROMPT_VERSION
        from rgd.generation.prompt import read_generation_request

        seed = 0 if sampling is None or sampling.seed is None else sampling.seed
        out = []
        for i, prompt in enumerate(prompts):
            request = read_generation_request(prompt)
            if request is not None:
                subject, n, k, version = request.subject.strip(), request.n_questions, request.n_options, GEN_PROMPT_VERSION
                if subject not in self.world.subjects:
                    raise DataError(f"prompt #{i} asks for subject {subject!r}, which is not in the simulated world "
                                    f"{self.world.subjects}")
            else:
                subject, n, k, version = self._subject_in(prompt, i), self.config.questions_per_call, None, PROMPT_VERSION
            ph = stable_hash(f"{seed}|{prompt}")
            occurrence = self._calls[ph]
            self._calls[ph] += 1
            rng = np.random.default_rng([self.world.config.seed, self._name_hash, self.config.seed, ph, occurrence])
            qs = self._make(subject, n, rng, f"gen-{self.config.name}-p{ph:016x}-{occurrence}", seed, k, version)
            out.append(Generation(text="\n\n".join(render_question_block(q) for q in qs)))
        return out

    def _subject_in(self, prompt: str, index: int) -> str:
        low = prompt.lower()
        found = []
        for s in self.world.subjects:
            for form in {s.lower(), s.lower().replace("_", " ")}:
                pos = low.find(form)
                if pos >= 0:
                    found.append((pos, -len(form), s))
        if not found:
            raise DataError(f"prompt #{index} names none of the simulated subjects {self.world.subjects} "
                            f"(starts {prompt[:80]!r})")
        return min(found)[2]

    # ------------------------------------------------------------------ re-answering its own questions
    def self_answer_arrays(self, questions: Sequence[Question], n_samples: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """(choices (n_samples, Q), confidence) of the generator answering its questions again."""
        if n_samples < 1:
            raise ParameterError(f"n_samples must be >= 1, got {n_samples}")
        missing = [q.id for q in questions if q.answer is None]
        if missing:
            raise DataError(f"question {missing[0]!r} has no answer key to re-answer against")
        cfg = self.config
        la = self.world.latent(questions)
        claimed = np.array([LETTERS.index(q.answer) for q in questions], dtype=np.int64)[None, :]
        samples = combine(self._key, np.arange(n_samples, dtype=np.uint64))[:, None]
        keys = combine(samples, la.qhash[None, :])
        key_right = claimed == la.key[None, :]
        agree = keyed_uniform(keys, 1) < np.where(key_right, cfg.self_agree_right, cfg.self_agree_wrong)
        # disagreeing: a wrong key gets replaced by the truth half the time, else by another option
        true_alt = ~key_right & (keyed_uniform(keys, 2) < 0.5)
        other_base = pick_other_wrong(keyed_uniform(keys, 3), claimed, la.key[None, :], la.n_options[None, :])
        other = np.where(key_right, pick_other_wrong(keyed_uniform(keys, 3), la.key[None, :], la.distractor[None, :],
                                                     la.n_options[None, :]), other_base)
        other = np.where(key_right & (keyed_uniform(keys, 4) < 0.5), la.distractor[None, :], other)
        choices = np.where(agree, claimed, np.where(true_alt, la.key[None, :], other))
        right = choices == la.key[None, :]
        conf = -np.exp(np.log(np.where(right, 0.3, 0.9)) + 0.45 * keyed_normal(keys, 5))
        return choices, conf.astype(np.float32)

    def self_answer_table(self, questions: Sequence[Question], n_samples: int = 3) -> ResponseTable:
        """The generator's ``n_samples`` re-answers as a table (one row per sample; keys = its own keys)."""
        choices, conf = self.self_answer_arrays(questions, n_samples)
        return ResponseTable(
            models=tuple(f"{self.config.name}#sample{i}" for i in range(n_samples)),
            question_ids=tuple(q.id for q in questions),
            subjects=np.array([q.subject for q in questions], dtype=str),
            n_options=np.array([len(q.options) for q in questions], dtype=np.int16),
            choices=choices.astype(np.int8),
            confidence=conf,
            answers=np.array([LETTERS.index(q.answer) for q in questions], dtype=np.int8),
        )

    def answer(self, questions: Sequence[Question], sampling: SamplingConfig | None = None) -> list[Response]:
        """The generator answering (its first re-answer sample); questions need keys."""
        choices, conf = self.self_answer_arrays(questions, 1)
        return [
            Response.model_construct(model=self.model, question_id=q.id, choice=LETTERS[c], confidence=float(v),
                                     raw_text=f"The answer is ({LETTERS[c]}).")
            for q, c, v in zip(questions, choices[0].tolist(), conf[0].tolist())
        ]
