"""The run configuration of an RGD pipeline, shared by the ``rgd`` command line and the pipeline stages.

A config is the fields of :class:`RunConfig` (``configs/default.yaml``). How a file also carries an
orchestrator's settings (a ``zenml:`` block, or a ZenML run configuration with this config under
``extra.rgd``) is :mod:`rgd.config.run_file`'s business: this module knows nothing of ZenML, nor
of step names.

Every model here forbids unknown fields, so a typo fails with the field's path and the allowed names. Short
forms are accepted where they read naturally: ``generator: Qwen/Qwen2.5-7B-Instruct`` (a vLLM generator),
``pool: [model ids]`` (a vLLM pool), ``embedder: sentence-transformers/all-MiniLM-L6-v2`` or ``tfidf``, and
``benchmark: mmlu_pro``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rgd.config.aliases import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME
from rgd.config.simulated import PRESET_ORDER, GeneratorConfig, PoolConfig, WorldConfig, generator_preset
from rgd.data.yaml_file import read_yaml
from rgd.embedding.registry import EMBEDDER_KIND_NAMES, MINILM_KIND, TFIDF_KIND
from rgd.embedding.sentence import MINILM_ALIASES
from rgd.errors import DataError, ParameterError
from rgd.filtering import FilterConfig
from rgd.routers.registry import DEFAULT_ROUTER
from rgd.secrets import find_plaintext_secrets

LLM_KINDS = ("vllm", "openai", "gemini")
#: references every evaluation has besides the routers (rgd.evaluation.metrics), usable in registry.must_beat
GATE_REFERENCES = ("majority_all",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def model_slug(model: str) -> str:
    """Slug of a model id (step names, file names, metric keys): ``meta-llama/Llama-3.3-70B-Instruct`` -> ``llama_3_3_70b_instruct``."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    slug = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    if not slug:
        raise ParameterError(f"model id {model!r} has no letters or digits to build a step name from")
    return slug


class SimulatedSpec(_Strict):
    """The simulated world of the embedded default: its shape, its pool, and its true-key test set."""

    world: WorldConfig = WorldConfig()
    pool: PoolConfig = PoolConfig()
    n_test: int = Field(600, ge=10, description="questions in the world's true-key test set")
    test_seed: int = Field(1, description="seed of the test set (different from generation seeds)")


def _check_replay_params(params: dict[str, Any], known: set[str], where: str) -> None:
    """A recorded (replayed) generator or pool reads a recorded-layout directory: ``dir`` is required."""
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(f"{where}: unknown parameters {unknown} for a recorded replay; known: {sorted(known)}")
    if not isinstance(params.get("dir"), str) or not params["dir"]:
        raise ParameterError(f"{where}: a recorded replay needs 'dir', the recorded data directory it replays")


class GeneratorSpec(_Strict):
    """One generator LLM: a simulated preset, or a real model behind a backend."""

    kind: Literal["simulated", "vllm", "openai", "gemini", "recorded"] = "simulated"
    preset: str | None = Field(None, description="simulated: strong, medium, weak or very_weak")
    model: str | None = Field(None, description="the model id (LLM kinds)")
    params: dict[str, Any] = Field(default_factory=dict, description="backend constructor parameters")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "GeneratorSpec":
        if self.kind == "simulated":
            if self.preset is None:
                raise ParameterError(f"a simulated generator needs a preset ({', '.join(PRESET_ORDER)})")
            if self.preset not in PRESET_ORDER:
                raise ParameterError(f"unknown generator preset {self.preset!r}; choose from {', '.join(PRESET_ORDER)}")
        elif not self.model:
            raise ParameterError(f"a {self.kind} generator needs 'model'")
        if self.kind == "recorded":
            _check_replay_params(self.params, {"dir", "answers", "split"}, "generators[*].params")
            if self.params.get("split", "train") not in ("train", "test"):
                raise ParameterError(f"generators[*].params.split: a recorded generator replays 'train' or 'test', "
                                     f"got {self.params['split']!r}")
        return self

    @property
    def name(self) -> str:
        """The generator's model name (as recorded in question provenance and lineage)."""
        if self.kind == "simulated":
            return generator_preset(self.preset).name
        return str(self.model)

    def simulated_config(self) -> GeneratorConfig:
        return generator_preset(self.preset, seed=self.seed)


class GenerationSpec(_Strict):
    n_per_subject: int = Field(100, ge=1, description="questions per subject and generator")
    questions_per_call: int = Field(5, ge=1, le=50)
    self_answer_samples: int = Field(3, ge=0, le=10, description="generator re-answers for filter check (a)")
    seed: int = 0
    subjects: str | None = Field(None, description="LLM generators: subject set name or YAML path "
                                                   "(default: the benchmark's)")
    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, gt=0, description="LLM generators: tokens per generation call "
                                   "(default: 600 per question asked for)")
    self_answer_max_tokens: int = Field(1024, gt=0, description="LLM generators: tokens per re-answer")
    min_kept_fraction: float = Field(0.25, ge=0, le=1, description="LLM generators: stop the run in "
                                     "generation when fewer of the questions asked for are usable")
    abort_after_empty_calls: int | None = Field(16, ge=1, description="LLM generators: stop as soon as this "
                                                "many calls have yielded no usable question at all")
    resume: bool = Field(True, description="replay the generation checkpointed for the same generator and "
                                           "settings; false (rgd run --no-cache): generate anew")


class PoolModelSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict, description="backend constructor parameters")
    cost: float | None = Field(None, ge=0, description="serving cost (a price per token, else the active "
                               "parameter count; only ratios matter): the cost-aware policy's and curve's")

    @property
    def slug(self) -> str:
        return model_slug(self.name)


class PoolSpec(_Strict):
    """The pool of models the router chooses from. Simulated: the world's pool (``models`` may pick a
    subset by name); LLM kinds: every model listed, each answered by its own ``respond_<slug>`` step."""

    kind: Literal["simulated", "vllm", "openai", "gemini", "recorded"] = "simulated"
    models: list[PoolModelSpec] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict, description="backend parameters shared by every model")

    @field_validator("models", mode="before")
    @classmethod
    def _short_models(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": m} if isinstance(m, str) else m for m in v]
        return v

    @model_validator(mode="after")
    def _check(self) -> "PoolSpec":
        if len(self.models) == 1 or (self.kind != "simulated" and not self.models):
            # a simulated pool without models is the world's whole pool; a pool of one has nothing to route
            raise ParameterError(f"a {self.kind} pool needs at least two models (a router chooses between them)")
        if self.kind == "recorded":
            _check_replay_params(self.params, {"dir"}, "pool.params")
        slugs = [m.slug for m in self.models]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ParameterError(f"pool models must have distinct slugs (their names in steps and files); repeated: {dupes}")
        return self


class EmbedderSpec(_Strict):
    kind: Literal[EMBEDDER_KIND_NAMES] = TFIDF_KIND
    params: dict[str, Any] = Field(default_factory=dict)


class ConsensusSpec(_Strict):
    """Which models vote in the consensus the router learns from (see rgd.consensus.ConsensusScorer)."""

    n_voters: int | float | None = Field(None, description="None: every model votes; an int: that many of the "
                                         "strongest; a fraction in (0, 1): that share of the pool")
    voter_scope: Literal["pool", "subject"] = "pool"
    temperature: float = Field(1.0, gt=0, description="softmax temperature of the consensus scores (also the "
                               "filter's consensus-agreement check's)")


class RouterSpec(_Strict):
    name: str = Field(DEFAULT_ROUTER, description="the router that is registered (the product's; cascal: the paper's)")
    params: dict[str, Any] = Field(default_factory=dict)
    baselines: list[str] = Field(default_factory=lambda: ["cascal", "best_single", "knn", "random"],
                                 description="routers trained on the same data for comparison")

    @model_validator(mode="after")
    def _known(self) -> "RouterSpec":
        from rgd.routers.registry import ROUTERS

        for name in [self.name, *self.baselines]:
            if name not in ROUTERS:
                raise ParameterError(f"unknown router {name!r}; choose from {sorted(ROUTERS)}")
        return self


class TestSetSpec(_Strict):
    """A benchmark's test split in the recorded-dataset layout (questions.jsonl[.gz] + split.json)."""

    __test__ = False  # not a pytest class

    dir: str
    split: Literal["test", "train"] = "test"
    limit: int | None = Field(None, ge=1, description="use at most this many test questions (stratified order)")


class RecordedSpec(_Strict):
    """Train and evaluate from recorded responses (no generation): a recorded-dataset directory."""

    dir: str
    models: list[str] | None = None
    costs: str | dict[str, float] | None = Field(None, description="per-model costs: a JSON file ({model: cost} "
                                                 "or the models.json shape, relative to the working directory) "
                                                 "or a map")


class RespondSpec(_Strict):
    checkpoint_every: int = Field(64, ge=1)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, gt=0)
    resume: bool = Field(True, description="reuse the answers checkpointed for the same questions, pool and "
                                           "sampling; false (rgd run --no-cache): answer everything again")


#: the promotion metrics: accuracies on the labelled test set, and their label-free estimates on the held-out
#: generated questions (rgd.evaluation.estimate)
LABELLED_METRICS = ("top1", "top3_vote")
ESTIMATED_METRICS = ("estimated_top1", "estimated_top3_vote")


class EvaluationSpec(_Strict):
    """What a training run is evaluated on besides the labelled test set (if any)."""

    holdout_fraction: float = Field(0.15, ge=0, le=0.5, description="seeded share of the filtered generated "
                                    "questions kept out of training; every router's accuracy is estimated on them "
                                    "without labels (0: none; a run without test_set needs some; at most 0.5: "
                                    "at least half of them train the router)")


class RegistrySpec(_Strict):
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    metric: Literal["top1", "top3_vote", "estimated_top1", "estimated_top3_vote"] | None = Field(
        None, description="the promotion gate's metric; default: top1 with a labelled test set, else "
        "estimated_top1 (the label-free estimate on the held-out generated questions)")
    margin: float = Field(0.0, ge=0, description="a challenger must beat the champion (and must_beat) by more "
                          "than this")
    must_beat: list[str] = Field(default_factory=lambda: ["best_single"],
                                 description="baselines of the same run (router.baselines, or majority_all) the "
                                 "router must beat by more than the margin to be promoted; [] turns this off")
    tracking_uri: str | None = Field(None, description="default: MLFLOW_TRACKING_URI, else SQLite under RGD_HOME")


class RunConfig(_Strict):
    """Everything one RGD pipeline run needs (see module docstring for the file shapes)."""

    name: str = "default"
    pipeline: Literal["training", "recorded"] = "training"
    benchmark: str | None = Field(None, description="subject set / benchmark name (LLM runs)")
    simulated: SimulatedSpec | None = None
    generators: list[GeneratorSpec] = Field(default_factory=list)
    generation: GenerationSpec = GenerationSpec()
    pool: PoolSpec = PoolSpec()
    filter: FilterConfig = FilterConfig()
    consensus: ConsensusSpec = ConsensusSpec()
    embedder: EmbedderSpec = EmbedderSpec()
    router: RouterSpec = RouterSpec()
    test_set: TestSetSpec | None = None
    recorded: RecordedSpec | None = None
    respond: RespondSpec = RespondSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    registry: RegistrySpec = RegistrySpec()
    seed: int = Field(0, description="seeds the consensus tie-breaks and every seeded router")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        refuse_plaintext_secrets(data)
        data = _moved_keys(dict(data))
        if "generator" in data:
            if "generators" in data:
                raise ParameterError("give either 'generator' or 'generators', not both")
            data["generators"] = [data.pop("generator")]
        if isinstance(data.get("generators"), list):
            data["generators"] = [
                ({"kind": "simulated", "preset": g} if g in PRESET_ORDER else {"kind": "vllm", "model": g})
                if isinstance(g, str) else g
                for g in data["generators"]
            ]
        if isinstance(data.get("pool"), list):
            data["pool"] = {"kind": "vllm", "models": data["pool"]}
        emb = data.get("embedder")
        if isinstance(emb, str):
            if emb.lower() in {MINILM_KIND, *(a.lower() for a in MINILM_ALIASES)}:
                data["embedder"] = {"kind": MINILM_KIND}
            elif "/" in emb:  # any sentence-transformers model id (the minilm kind's class loads it)
                data["embedder"] = {"kind": MINILM_KIND, "params": {"model_name": emb}}
            else:
                data["embedder"] = {"kind": emb}
        return data

    @model_validator(mode="after")
    def _gate_baselines(self) -> "RunConfig":
        evaluated = {*self.router.baselines, *GATE_REFERENCES}
        missing = [b for b in self.registry.must_beat if b not in evaluated]
        if missing:
            raise ParameterError(
                f"registry.must_beat names {missing}, which this run does not evaluate: add them to "
                f"router.baselines (now {self.router.baselines}) or drop them from registry.must_beat")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        if self.pipeline == "recorded":
            if self.recorded is None:
                raise ParameterError("pipeline 'recorded' needs a 'recorded: {dir: ...}' section")
            return self
        if not self.generators:
            raise ParameterError("the training pipeline needs at least one generator")
        names = [g.name for g in self.generators]
        if len(set(names)) != len(names):
            raise ParameterError(f"generator names must be distinct, got {names}")
        simulated_parts = [self.pool.kind == "simulated"] + [g.kind == "simulated" for g in self.generators]
        if any(simulated_parts):
            if not all(simulated_parts):
                raise ParameterError("a simulated world cannot be mixed with real models: make the pool and every "
                                 "generator simulated, or none")
            if self.simulated is None:
                object.__setattr__(self, "simulated", SimulatedSpec())
        else:
            if self.test_set is None and self.benchmark is not None and "test_set" not in self.model_fields_set:
                # the conventional place of the benchmark's ingested split (rgd/benchmarks); `test_set: null`
                # says there is none: the run is label-free end to end
                object.__setattr__(self, "test_set", TestSetSpec(dir=f"data/{self.benchmark}"))
            replayed = all(g.kind == "recorded" for g in self.generators)
            if self.pool.kind == "recorded" and not replayed:
                raise ParameterError("a recorded pool answers only the questions it recorded: its generators must "
                                     "be recorded replays too (kind: recorded), not "
                                     + ", ".join(g.kind for g in self.generators if g.kind != "recorded"))
            if self.benchmark is None and self.generation.subjects is None and not replayed:
                raise ParameterError("a run with real models needs 'benchmark' (or generation.subjects) to know "
                                 "which subjects to generate questions for")
        return self

    @model_validator(mode="after")
    def _label_free(self) -> "RunConfig":
        if self.pipeline != "training" or self.is_simulated or self.test_set is not None:
            if (self.pipeline == "training" and self.registry.metric in ESTIMATED_METRICS
                    and self.evaluation.holdout_fraction == 0):
                raise ParameterError(f"registry.metric {self.registry.metric!r} is estimated on held-out generated "
                                     "questions: set evaluation.holdout_fraction > 0")
            return self
        if self.evaluation.holdout_fraction == 0:
            raise ParameterError("a run without test_set is evaluated on held-out generated questions only: set "
                                 "evaluation.holdout_fraction > 0 (e.g. 0.15), or give a labelled test_set")
        if self.registry.metric in LABELLED_METRICS:
            raise ParameterError(f"registry.metric {self.registry.metric!r} needs a labelled test set and this run "
                                 "has none (no test_set): use estimated_top1 or estimated_top3_vote")
        return self

    # ------------------------------------------------------------------ derived views
    @property
    def is_label_free(self) -> bool:
        """A training run with real models and no labelled test set: evaluated and promoted on estimates."""
        return self.pipeline == "training" and not self.is_simulated and self.test_set is None

    @property
    def promotion_metric(self) -> str:
        """``registry.metric``, or its default: top1 with a labelled test set, else estimated_top1."""
        if self.registry.metric is not None:
            return self.registry.metric
        return "estimated_top1" if self.is_label_free else "top1"

    @property
    def is_simulated(self) -> bool:
        return self.pipeline == "training" and self.pool.kind == "simulated"

    def without_reuse(self) -> "RunConfig":
        """The same run reusing no saved work (``rgd run --no-cache``): every answer and generation
        checkpoint is ignored and rewritten."""
        return self.model_copy(update={"respond": self.respond.model_copy(update={"resume": False}),
                                       "generation": self.generation.model_copy(update={"resume": False})})

    def with_generator_preset(self, preset: str) -> "RunConfig":
        """The same run with every simulated generator replaced by ``preset`` (``rgd run --generator``)."""
        if not self.generators or any(g.kind != "simulated" for g in self.generators):
            raise ParameterError("--generator PRESET applies to simulated runs only")
        if len(self.generators) > 1:
            raise ParameterError(f"--generator PRESET replaces the run's one generator, but this config has "
                                 f"{len(self.generators)} ({', '.join(g.name for g in self.generators)}); "
                                 "edit the config's generators instead")
        gens = [g.model_copy(update={"preset": preset}) for g in self.generators]
        return RunConfig.model_validate({**self.model_dump(exclude={"generators"}), "generators":
                                         [g.model_dump() for g in gens]}, strict=True)

    def lineage_params(self, pool: list[str] | None = None) -> dict[str, Any]:
        """Flat, string-valued summary (MLflow params / tags); ``pool``: the pool's model names."""
        return {
            "config_name": self.name,
            "pipeline": self.pipeline,
            "generators": ",".join(g.name for g in self.generators),
            "pool": ",".join(pool or []),
            "embedder": self.embedder.kind,
            "router": self.router.name,
            "n_per_subject": self.generation.n_per_subject,
            **{f"filter.{k}": v for k, v in self.filter.model_dump().items()},
            "consensus.temperature": self.consensus.temperature,  # was filter.consensus_temperature
        }


#: keys that moved, old path -> new path (a config with the old key still loads, with a FutureWarning)
MOVED_KEYS = {("filter", "consensus_temperature"): ("consensus", "temperature")}


def _moved_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every key of :data:`MOVED_KEYS` at its new place (a FutureWarning says where); the
    same setting at both places is refused unless the values agree."""
    for (old_section, old_key), (new_section, new_key) in MOVED_KEYS.items():
        section = data.get(old_section)
        if not isinstance(section, dict) or old_key not in section:
            continue
        section = dict(section)
        value = section.pop(old_key)
        target = dict(data.get(new_section) or {})
        if new_key in target and target[new_key] != value:
            raise ParameterError(f"{old_section}.{old_key} ({value!r}) and {new_section}.{new_key} "
                                 f"({target[new_key]!r}) are the same setting: keep {new_section}.{new_key} only")
        target[new_key] = value
        data[old_section], data[new_section] = section, target
        warnings.warn(f"{old_section}.{old_key} is deprecated: write {new_section}.{new_key} instead",
                      FutureWarning, stacklevel=2)
    return data


def refuse_plaintext_secrets(data: Any, prefix: str = "") -> None:
    """ParameterError naming every field that holds a secret in plain text, and the environment variable to
    use instead (a run config is stored by the orchestrator in every step's configuration)."""
    findings = find_plaintext_secrets(data)
    if findings:
        lines = "; ".join(f"{prefix}{f.field}: {f.reason} (not shown); {f.instead}" for f in findings)
        raise ParameterError(f"plain-text secret in the run config, refused: {lines}")


def _format_errors(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        lines.append(f"  {prefix}{loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def parse_run_config(data: Any, origin: str = "<config>", prefix: str = "") -> RunConfig:
    """Validate a config mapping; errors name the field (``prefix`` + its path) and the file.

    Validation is strict in every section: ``true`` is not an integer and ``"12"`` is not a number (an integer
    is accepted where a float is expected)."""
    if not isinstance(data, dict):
        raise DataError("a run config must be a YAML mapping", path=origin)
    try:
        return RunConfig.model_validate(data, strict=True)
    except ValidationError as exc:
        raise DataError(f"invalid run config:\n{_format_errors(exc, prefix)}", path=origin) from None


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a plain YAML run config."""
    return parse_run_config(read_yaml(path), str(path))


def default_config_path() -> Path:
    """``configs/default.yaml`` of this checkout (the embedded default)."""
    return Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def embedded_default() -> RunConfig:
    """The embedded default: the default config file when present, else the same values built in."""
    path = default_config_path()
    if path.is_file():
        data = read_yaml(path)
        if isinstance(data, dict):
            data.pop("zenml", None)  # the orchestrator's block (rgd.config.run_file reads it)
        return parse_run_config(data, str(path))
    return RunConfig(name="default", generators=[GeneratorSpec(kind="simulated", preset="strong")])
