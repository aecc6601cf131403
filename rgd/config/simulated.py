"""The simulated world's settings: its shape (:class:`WorldConfig`), its pool (:class:`PoolConfig`) and its
generators' quality knobs (:class:`GeneratorConfig`) and their named presets, strong to very weak.

Plain validated settings, apart from the world they build (:mod:`rgd.simulated`), so that the run config
(:mod:`rgd.config.run_config`) reads them without importing the simulated world itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rgd.errors import ParameterError

DEFAULT_SUBJECTS = (
    "biology", "chemistry", "physics", "law", "economics", "history",
    "psychology", "engineering", "philosophy", "health", "math", "computer_science",
)


class WorldConfig(BaseModel):
    """Shape of a simulated world. Everything derives deterministically from ``seed``; a default subject speaks
    real words of its own (:mod:`rgd.simulated.lexicon`), any other subject made-up ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    n_subjects: int = Field(6, ge=1, le=50)
    subject_names: tuple[str, ...] | None = Field(None, description="defaults to biology, chemistry, ...")
    niches_per_subject: int = Field(4, ge=1, le=20)
    niche_vocab_size: int = Field(18, ge=8, le=500, description=(
        "words per niche: its lexicon topic's first ones (rgd.simulated.lexicon), made-up ones beyond them"))
    subject_vocab_size: int = Field(12, ge=2, le=500, description=(
        "shared words per subject: its lexicon's first ones, made-up ones beyond them (and for other subjects)"))
    min_options: int = Field(4, ge=3, le=26)
    max_options: int = Field(10, ge=3, le=26)
    difficulty_mean: float = 0.9
    difficulty_sd: float = Field(1.1, ge=0)
    niche_difficulty_sd: float = Field(0.3, ge=0)
    compound_term_rate: float = Field(0.5, ge=0, le=1, description="niche terms that are two-word compounds")
    term_zipf_exponent: float = Field(1.0, ge=0, description="how strongly a niche's key terms recur (0: uniform)")

    @model_validator(mode="after")
    def _check(self) -> WorldConfig:
        if self.min_options > self.max_options:
            raise ParameterError(f"min_options {self.min_options} > max_options {self.max_options}")
        if self.subject_names is not None:
            if len(self.subject_names) != self.n_subjects:
                raise ParameterError(f"{len(self.subject_names)} subject names for n_subjects={self.n_subjects}")
            if len(set(self.subject_names)) != len(self.subject_names):
                raise ParameterError("subject names must be distinct")
        return self

    def subjects(self) -> list[str]:
        if self.subject_names is not None:
            return list(self.subject_names)
        names = list(DEFAULT_SUBJECTS[: self.n_subjects])
        names += [f"subject_{i + 1}" for i in range(len(names), self.n_subjects)]
        return names


class PoolConfig(BaseModel):
    """How the simulated pool is built; everything derives from ``seed`` and the world."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    n_specialists: int = Field(7, ge=0, le=100)
    n_generalists: int = Field(2, ge=0, le=20)
    champion_skill: float = 2.6
    secondary_skill: float = 1.4
    off_niche_skill: float = 0.2
    skill_noise: float = Field(0.25, ge=0)
    generalist_skill_max: float = 1.1
    generalist_skill_min: float = 0.3
    slope: float = Field(1.6, gt=0)
    distractor_bias_min: float = Field(0.3, ge=0, le=1)
    distractor_bias_max: float = Field(0.65, ge=0, le=1)
    conf_right: float = Field(-0.3, lt=0)
    conf_wrong: float = Field(-0.9, lt=0)
    conf_sd: float = Field(0.45, ge=0, description="noise sd of log(-logprob)")
    conf_offset_sd: float = Field(0.3, ge=0, description="per-model offset sd of log(-logprob)")
    conf_scale_min: float = Field(0.6, gt=0)
    conf_scale_max: float = Field(1.6, gt=0)
    #: serving cost per model (any unit; only ratios matter): specialists are small and cheap, the
    #: generalists large and dear, from ``generalist_cost_max`` (the strongest) down to ``generalist_cost_min``
    specialist_cost: float = Field(1.0, ge=0)
    generalist_cost_max: float = Field(10.0, ge=0)
    generalist_cost_min: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> PoolConfig:
        if self.n_specialists + self.n_generalists < 1:
            raise ParameterError("the pool needs at least one model")
        if self.distractor_bias_min > self.distractor_bias_max or self.conf_scale_min > self.conf_scale_max:
            raise ParameterError("min must not exceed max (distractor bias, confidence scale)")
        return self


class GeneratorConfig(BaseModel):
    """Quality knobs of a simulated generator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "sim-generator"
    key_accuracy: float = Field(0.95, ge=0, le=1, description="fraction of answer keys that are right")
    wrong_key_distractor_rate: float = Field(0.85, ge=0, le=1, description="wrong keys that are the shared distractor")
    wrong_key_difficulty_slope: float = Field(
        1.5, ge=0, description="how strongly wrong keys concentrate on hard questions (0: uniformly)"
    )
    too_easy_rate: float = Field(0.0, ge=0, le=1, description="questions every model gets right")
    too_hard_rate: float = Field(0.0, ge=0, le=1, description="questions nobody can solve (answers are guesses)")
    niche_coverage: float = Field(1.0, gt=0, le=1, description="fraction of each subject's niches covered")
    noise_words: float = Field(0.0, ge=0, description="mean number of off-topic words added to a question")
    difficulty_shift: float = Field(0.0, description="added to the world's difficulty distribution")
    self_agree_right: float = Field(0.95, ge=0, le=1, description="re-answer agrees with a right key")
    self_agree_wrong: float = Field(0.6, ge=0, le=1, description="re-answer agrees with a wrong key")
    questions_per_call: int = Field(5, ge=1, le=50, description="questions per generate() prompt")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> GeneratorConfig:
        if self.too_easy_rate + self.too_hard_rate > 1:
            raise ParameterError("too_easy_rate + too_hard_rate must not exceed 1")
        return self


#: strongest first; each level has worse keys, more non-separating questions, less coverage, noisier text
GENERATOR_PRESETS: dict[str, GeneratorConfig] = {
    "strong": GeneratorConfig(
        name="sim-gen-strong", key_accuracy=0.95, too_easy_rate=0.03, too_hard_rate=0.02,
        niche_coverage=1.0, noise_words=0.0, self_agree_right=0.97, self_agree_wrong=0.5,
    ),
    "medium": GeneratorConfig(
        name="sim-gen-medium", key_accuracy=0.8, too_easy_rate=0.08, too_hard_rate=0.05,
        niche_coverage=1.0, noise_words=0.5, self_agree_right=0.93, self_agree_wrong=0.55,
    ),
    "weak": GeneratorConfig(
        name="sim-gen-weak", key_accuracy=0.65, too_easy_rate=0.12, too_hard_rate=0.1,
        niche_coverage=0.75, noise_words=1.0, self_agree_right=0.9, self_agree_wrong=0.6,
    ),
    "very_weak": GeneratorConfig(
        name="sim-gen-very-weak", key_accuracy=0.5, too_easy_rate=0.15, too_hard_rate=0.15,
        niche_coverage=0.75, noise_words=1.5, self_agree_right=0.85, self_agree_wrong=0.65,
    ),
}

PRESET_ORDER: tuple[str, ...] = tuple(GENERATOR_PRESETS)


def generator_preset(name: str, **overrides) -> GeneratorConfig:
    """A preset's config, optionally with some fields overridden (e.g. ``seed``)."""
    if name not in GENERATOR_PRESETS:
        raise ParameterError(f"unknown generator preset {name!r}; choose from {', '.join(PRESET_ORDER)}")
    return GENERATOR_PRESETS[name].model_copy(update=overrides)
