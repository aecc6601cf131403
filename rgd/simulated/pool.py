"""The simulated pool: specialists strong in a few niches, generalists medium everywhere.

Each niche of a subject has its own champion specialist (and a second-best one), so that routing inside a
subject pays off: the oracle is far above the best single model, and knowing the niche skills beats it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from rgd.config.simulated import PoolConfig
from rgd.data.response_table import ResponseTable
from rgd.data.schema import LETTERS, Question, Response
from rgd.errors import DataError, ParameterError
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.simulated.answering import AnswerParams, p_correct, simulate_answers
from rgd.simulated.randomness import stable_hash
from rgd.simulated.registry import LatentArrays
from rgd.simulated.world import World

CHUNK = 50_000  # questions per vectorised block (bounds memory at M x CHUNK)


class SimulatedModel(LLMBackend):
    """One simulated pool model. ``answer`` is vectorised and deterministic per (model, question, seed)."""

    def __init__(self, world: World, name: str, params: AnswerParams, role: str) -> None:
        if params.keys.shape != (1,):
            raise ParameterError("SimulatedModel takes the parameters of exactly one model")
        self.world, self.model, self.params, self.role = world, name, params, role

    @property
    def skills(self) -> np.ndarray:
        """(n_niches,) latent skill per niche."""
        return self.params.skill[0]

    def answer_arrays(self, questions: Sequence[Question]) -> tuple[np.ndarray, np.ndarray]:
        """(choices (Q,) int64, confidence (Q,) float32)."""
        choices, conf = simulate_answers(self.params, self.world.latent(questions))
        return choices[0], conf[0]

    def answer(self, questions: Sequence[Question], sampling: SamplingConfig | None = None) -> list[Response]:
        choices, conf = self.answer_arrays(questions)
        name = self.model
        return [
            Response.model_construct(
                model=name, question_id=q.id, choice=LETTERS[c], confidence=float(v),
                raw_text=f"The answer is ({LETTERS[c]}).",
            )
            for q, c, v in zip(questions, choices.tolist(), conf.tolist())
        ]

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        """Answer prompts that embed a question of this world (one line holding its text) with short CoT."""
        rows = np.array([_embedded_row(self.world, p, i) for i, p in enumerate(prompts)], dtype=np.int64)
        if not len(rows):
            return []
        la = self.world.registry.take(rows)
        choices, conf = simulate_answers(self.params, la)
        out = []
        for c, v, n in zip(choices[0].tolist(), conf[0].tolist(), la.niche.tolist()):
            term = self.world.niches[n].words[0]
            out.append(Generation(
                text=f"Let me recall what I know about {term} and weigh each option in turn. "
                     f"The answer is ({LETTERS[c]}).",
                mean_logprob=float(v),
            ))
        return out


def _embedded_row(world: World, prompt: str, index: int) -> int:
    for line in prompt.splitlines():
        line = line.strip()
        for candidate in (line, line.split(":", 1)[1] if ":" in line else ""):
            row = world.registry.row_of_text(candidate)
            if row is not None:
                return row
    raise DataError(
        f"prompt #{index} embeds no question of this simulated world (starts {prompt[:80]!r}); "
        "simulated models answer only the world's and its generators' questions"
    )


def specialist_homes(subjects: Sequence[str], n_specialists: int) -> list[str]:
    """Each specialist's home subject: the world's subjects in turn."""
    return [subjects[i % len(subjects)] for i in range(n_specialists)]


def model_names(subjects: Sequence[str], config: PoolConfig) -> list[str]:
    """The pool's model names in table order (specialists, then generalists), from the world's subjects
    (``WorldConfig.subjects()``) and the pool's config alone: no world is built."""
    names, used = [], {}
    for home in specialist_homes(subjects, config.n_specialists):
        abbr = home.replace("_", "")[:4]
        used[abbr] = used.get(abbr, 0) + 1
        names.append(f"sim-specialist-{abbr}-{used[abbr]}")
    n_gen = config.n_generalists
    sizes = {1: ["large"], 2: ["large", "small"], 3: ["large", "medium", "small"]}
    return names + [f"sim-generalist-{s}" for s in sizes.get(n_gen, [str(i + 1) for i in range(n_gen)])]


def model_costs(subjects: Sequence[str], config: PoolConfig) -> dict[str, float]:
    """Serving cost per model name (specialists cheap, generalists dear, the strongest dearest; see
    :class:`PoolConfig`), from the world's subjects and the pool's config alone."""
    names, n_spec, n_gen = model_names(subjects, config), config.n_specialists, config.n_generalists
    gen_costs = np.linspace(config.generalist_cost_max, config.generalist_cost_min, n_gen) if n_gen else []
    return {**{n: float(config.specialist_cost) for n in names[:n_spec]},
            **{n: float(c) for n, c in zip(names[n_spec:], gen_costs)}}


class SimulatedPool:
    """The pool of simulated models over a world; ``answer_table`` is the fast path."""

    def __init__(self, world: World, config: PoolConfig | None = None) -> None:
        self.world = world
        self.config = cfg = config or PoolConfig()
        rng = np.random.default_rng([world.config.seed, cfg.seed, 0x9001])
        n_spec, n_gen, n_niche = cfg.n_specialists, cfg.n_generalists, world.n_niches
        m = n_spec + n_gen
        skill = np.empty((m, n_niche))
        champions = np.full(n_niche, -1)
        if n_spec:
            skill[:n_spec] = cfg.off_niche_skill + rng.normal(0, cfg.skill_noise, (n_spec, n_niche))
            home = np.arange(n_spec) % len(world.subjects)  # each specialist's home subject (specialist_homes)
            for si, subject in enumerate(world.subjects):
                niches = world.niches_of(subject)
                locals_ = np.flatnonzero(home == si)
                visitors = rng.permutation(np.flatnonzero(home != si))
                n_home = -(-len(niches) // 2) if len(locals_) else 0  # half the niches to home specialists
                picks = [locals_[i % len(locals_)] for i in range(n_home)] if n_home else []
                pool_ = np.concatenate([visitors, rng.permutation(n_spec)]) if len(visitors) else rng.permutation(n_spec)
                picks += [int(pool_[i % len(pool_)]) for i in range(len(niches) - n_home)]
                for nid, champ in zip(niches, rng.permutation(picks)):
                    champions[nid] = champ
                    skill[champ, nid] = cfg.champion_skill + rng.normal(0, cfg.skill_noise)
                    if n_spec > 1:
                        second = (champ + 1 + rng.integers(n_spec - 1)) % n_spec
                        skill[second, nid] = cfg.secondary_skill + rng.normal(0, cfg.skill_noise)
        self.home = specialist_homes(world.subjects, n_spec)
        levels = np.linspace(cfg.generalist_skill_max, cfg.generalist_skill_min, n_gen) if n_gen else []
        for g, level in enumerate(levels):
            skill[n_spec + g] = level + rng.normal(0, cfg.skill_noise / 2, n_niche)
        names = model_names(world.subjects, cfg)
        roles = ["specialist"] * n_spec + ["generalist"] * n_gen
        self.champions = champions
        self.params = AnswerParams(
            keys=np.array([stable_hash(f"{n}|{cfg.seed}|{world.fingerprint()}") for n in names], dtype=np.uint64),
            skill=skill,
            slope=np.full(m, cfg.slope),
            distractor_bias=rng.uniform(cfg.distractor_bias_min, cfg.distractor_bias_max, m),
            conf_right=np.full(m, cfg.conf_right),
            conf_wrong=np.full(m, cfg.conf_wrong),
            conf_sd=np.full(m, cfg.conf_sd),
            conf_offset=rng.normal(0, cfg.conf_offset_sd, m),
            conf_scale=rng.uniform(cfg.conf_scale_min, cfg.conf_scale_max, m),
        )
        self.models = [SimulatedModel(world, n, self.params[i], r) for i, (n, r) in enumerate(zip(names, roles))]
        #: serving cost per model name (specialists cheap, generalists dear; see PoolConfig)
        self.costs = model_costs(world.subjects, cfg)

    # ------------------------------------------------------------------ views
    @property
    def names(self) -> list[str]:
        return [m.model for m in self.models]

    @property
    def skills(self) -> np.ndarray:
        """(M, n_niches) latent skills."""
        return self.params.skill

    def __len__(self) -> int:
        return len(self.models)

    def expected_correct(self, questions: Sequence[Question] | LatentArrays) -> np.ndarray:
        """(M, Q) probability each model answers each question right (the latent truth)."""
        la = questions if isinstance(questions, LatentArrays) else self.world.latent(questions)
        return p_correct(self.params, la)

    # ------------------------------------------------------------------ answering
    def answer_arrays(self, questions: Sequence[Question], progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        la = self.world.latent(questions)
        n = len(questions)
        choices = np.empty((len(self.models), n), dtype=np.int8)
        conf = np.empty((len(self.models), n), dtype=np.float32)
        starts = range(0, n, CHUNK)
        for s in tqdm(starts, desc="simulated pool", unit="chunk", disable=not progress or n <= CHUNK):
            sl = slice(s, s + CHUNK)
            part = LatentArrays(**{k: getattr(la, k)[sl] for k in la.__dataclass_fields__})
            choices[:, sl], conf[:, sl] = simulate_answers(self.params, part)
        return choices, conf

    def answer_table(self, questions: Sequence[Question], progress: bool = False) -> ResponseTable:
        """The whole pool's answers as a table; its keys are the questions' own (possibly wrong) keys."""
        choices, conf = self.answer_arrays(questions, progress)
        return ResponseTable(
            models=tuple(self.names),
            question_ids=tuple(q.id for q in questions),
            subjects=np.array([q.subject for q in questions], dtype=str),
            n_options=np.array([len(q.options) for q in questions], dtype=np.int16),
            choices=choices,
            confidence=conf,
            answers=np.array([-1 if q.answer is None else LETTERS.index(q.answer) for q in questions], dtype=np.int8),
        )
