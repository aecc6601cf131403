"""The run configuration of an RGD pipeline, shared by the ``rgd`` command line and the pipeline steps.

A config file is YAML in one of two shapes:

* a plain RGD config (``configs/default.yaml``): the fields of :class:`RunConfig` at the top level, plus an
  optional ``zenml:`` mapping passed to ZenML as its run configuration (``enable_cache``, ``settings``,
  ``steps``, ``run_name``, ...);
* a ZenML run configuration (``configs/k8s/*.yaml``) that carries the RGD config under ``extra.rgd``; the
  rest of the file is ZenML's.

Every model here forbids unknown fields, so a typo fails with the field's path and the allowed names. Short
forms are accepted where they read naturally: ``generator: Qwen/Qwen2.5-7B-Instruct`` (a vLLM generator),
``pool: [model ids]`` (a vLLM pool), ``embedder: sentence-transformers/all-MiniLM-L6-v2`` or ``tfidf``, and
``benchmark: mmlu_pro``. This module never imports ZenML or MLflow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rgd.errors import DataError
from rgd.filtering import FilterConfig
from rgd.simulated.generator import GeneratorConfig
from rgd.simulated.pool import PoolConfig
from rgd.simulated.world import WorldConfig

LLM_KINDS = ("vllm", "openai", "gemini")
GENERATOR_PRESETS = ("strong", "medium", "weak", "very_weak")
#: ZenML run-configuration keys: a file with any of these at the top level is a ZenML run config
ZENML_TOP_KEYS = frozenset({"settings", "steps", "run_name", "enable_cache", "schedule", "extra", "parameters",
                            "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
                            "model", "retry", "build", "tags", "substitutions", "failure_hook_source",
                            "success_hook_source", "environment", "secrets", "cache_policy"})
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def model_slug(model: str) -> str:
    """Slug of a model id used in step names: ``meta-llama/Llama-3.3-70B-Instruct`` -> ``llama_3_3_70b_instruct``."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    slug = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    if not slug:
        raise ValueError(f"model id {model!r} has no letters or digits to build a step name from")
    return slug


class SimulatedSpec(_Strict):
    """The simulated world of the embedded default: its shape, its pool, and its true-key test set."""

    world: WorldConfig = WorldConfig()
    pool: PoolConfig = PoolConfig()
    n_test: int = Field(600, ge=10, description="questions in the world's true-key test set")
    test_seed: int = Field(1, description="seed of the test set (different from generation seeds)")


class GeneratorSpec(_Strict):
    """One generator LLM: a simulated preset, or a real model behind a backend."""

    kind: Literal["simulated", "vllm", "openai", "gemini"] = "simulated"
    preset: str | None = Field(None, description="simulated: strong, medium, weak or very_weak")
    model: str | None = Field(None, description="the model id (LLM kinds)")
    params: dict[str, Any] = Field(default_factory=dict, description="backend constructor parameters")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "GeneratorSpec":
        if self.kind == "simulated":
            if self.preset is None:
                raise ValueError("a simulated generator needs a preset (strong, medium, weak, very_weak)")
            if self.preset not in GENERATOR_PRESETS:
                raise ValueError(f"unknown generator preset {self.preset!r}; choose from {', '.join(GENERATOR_PRESETS)}")
        elif not self.model:
            raise ValueError(f"a {self.kind} generator needs 'model'")
        return self

    @property
    def name(self) -> str:
        """The generator's model name (as recorded in question provenance and lineage)."""
        if self.kind == "simulated":
            from rgd.simulated.presets import generator_preset

            return generator_preset(self.preset).name
        return str(self.model)

    def simulated_config(self) -> GeneratorConfig:
        from rgd.simulated.presets import generator_preset

        return generator_preset(self.preset, seed=self.seed)


class GenerationSpec(_Strict):
    n_per_subject: int = Field(100, ge=1, description="questions per subject and generator")
    questions_per_call: int = Field(5, ge=1, le=50)
    self_answer_samples: int = Field(3, ge=0, le=10, description="generator re-answers for filter check (a)")
    seed: int = 0
    subjects: str | None = Field(None, description="LLM generators: subject set name or YAML path "
                                                   "(default: the benchmark's)")
    max_calls: int | None = Field(None, ge=1)


class PoolModelSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict, description="backend constructor parameters")

    @property
    def slug(self) -> str:
        return model_slug(self.name)


class PoolSpec(_Strict):
    """The pool of models the router chooses from. Simulated: the world's pool (``models`` may pick a
    subset by name); LLM kinds: every model listed, each answered by its own ``respond_<slug>`` step."""

    kind: Literal["simulated", "vllm", "openai", "gemini"] = "simulated"
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
        if self.kind != "simulated" and len(self.models) < 2:
            raise ValueError(f"a {self.kind} pool needs at least two models")
        slugs = [m.slug for m in self.models]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"pool models must have distinct step slugs; repeated: {dupes}")
        return self


class EmbedderSpec(_Strict):
    kind: Literal["tfidf", "minilm"] = "tfidf"
    params: dict[str, Any] = Field(default_factory=dict)


class ConsensusSpec(_Strict):
    """Which models vote in the consensus the router learns from (see rgd.consensus.ConsensusScorer)."""

    n_voters: int | float | None = Field(None, description="None: every model votes; an int: that many of the "
                                         "strongest; a fraction in (0, 1): that share of the pool")
    voter_scope: Literal["pool", "subject"] = "pool"


class RouterSpec(_Strict):
    name: str = Field("cascal", description="the router that is registered")
    params: dict[str, Any] = Field(default_factory=dict)
    baselines: list[str] = Field(default_factory=lambda: ["best_single", "knn", "random"],
                                 description="routers trained on the same data for comparison")

    @model_validator(mode="after")
    def _known(self) -> "RouterSpec":
        from rgd.routers.registry import ROUTERS

        for name in [self.name, *self.baselines]:
            if name not in ROUTERS:
                raise ValueError(f"unknown router {name!r}; choose from {sorted(ROUTERS)}")
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


class RespondSpec(_Strict):
    checkpoint_every: int = Field(64, ge=1)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, gt=0)


class RegistrySpec(_Strict):
    model_name: str = "rgd-router"
    experiment: str = "rgd"
    metric: Literal["top1", "top3_vote"] = "top1"
    margin: float = Field(0.0, ge=0, description="a challenger must beat the champion by more than this")
    tracking_uri: str | None = Field(None, description="default: MLFLOW_TRACKING_URI, else SQLite under RGD_HOME")


#: sections every step may depend on (they decide what the data is)
STRUCTURAL_SECTIONS = frozenset({"pipeline", "benchmark", "simulated", "generators", "pool", "test_set", "recorded"})
#: sections each cached step reads besides the structural ones (register_router reads everything)
STEP_SECTIONS: dict[str, frozenset[str]] = {
    "generate_questions": frozenset({"generation"}),
    "load_test_set": frozenset(),
    "load_recorded_data": frozenset(),
    "respond": frozenset({"respond"}),
    "filter_questions": frozenset({"filter"}),
    "score_consensus": frozenset({"filter", "consensus"}),
    "embed_questions": frozenset({"embedder"}),
    "train_router": frozenset({"router", "filter"}),
    "evaluate_router": frozenset(),
}


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
    registry: RegistrySpec = RegistrySpec()
    zenml: dict[str, Any] = Field(default_factory=dict, description="ZenML run configuration (passed through)")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "generator" in data:
            if "generators" in data:
                raise ValueError("give either 'generator' or 'generators', not both")
            data["generators"] = [data.pop("generator")]
        if isinstance(data.get("generators"), list):
            data["generators"] = [
                ({"kind": "simulated", "preset": g} if g in GENERATOR_PRESETS else {"kind": "vllm", "model": g})
                if isinstance(g, str) else g
                for g in data["generators"]
            ]
        if isinstance(data.get("pool"), list):
            data["pool"] = {"kind": "vllm", "models": data["pool"]}
        emb = data.get("embedder")
        if isinstance(emb, str):
            if emb.lower() in MINILM_ALIASES or emb == "minilm":
                data["embedder"] = {"kind": "minilm"}
            elif "/" in emb:  # any sentence-transformers model id (the minilm kind's class loads it)
                data["embedder"] = {"kind": "minilm", "params": {"model_name": emb}}
            else:
                data["embedder"] = {"kind": emb}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        if self.pipeline == "recorded":
            if self.recorded is None:
                raise ValueError("pipeline 'recorded' needs a 'recorded: {dir: ...}' section")
            return self
        if not self.generators:
            raise ValueError("the training pipeline needs at least one generator")
        names = [g.name for g in self.generators]
        if len(set(names)) != len(names):
            raise ValueError(f"generator names must be distinct, got {names}")
        simulated_parts = [self.pool.kind == "simulated"] + [g.kind == "simulated" for g in self.generators]
        if any(simulated_parts):
            if not all(simulated_parts):
                raise ValueError("a simulated world cannot be mixed with real models: make the pool and every "
                                 "generator simulated, or none")
            if self.simulated is None:
                object.__setattr__(self, "simulated", SimulatedSpec())
        else:
            if self.test_set is None:
                if self.benchmark is None:
                    raise ValueError("a run with real models needs 'test_set: {dir: ...}' (a benchmark's test "
                                     "split in the recorded layout) to evaluate the router on")
                # the conventional place of the benchmark's ingested split (rgd/benchmarks)
                object.__setattr__(self, "test_set", TestSetSpec(dir=f"data/{self.benchmark}"))
            if self.benchmark is None and self.generation.subjects is None:
                raise ValueError("a run with real models needs 'benchmark' (or generation.subjects) to know "
                                 "which subjects to generate questions for")
        return self

    # ------------------------------------------------------------------ derived views
    @property
    def is_simulated(self) -> bool:
        return self.pipeline == "training" and self.pool.kind == "simulated"

    def pool_model_names(self) -> list[str]:
        """The pool's model names in table order (simulated: the world's pool, or the chosen subset)."""
        if self.pool.kind == "simulated":
            from rgd.simulated.pool import SimulatedPool
            from rgd.simulated.world import World

            names = SimulatedPool(World(self.simulated.world), self.simulated.pool).names
            if self.pool.models:
                chosen = [m.name for m in self.pool.models]
                unknown = [n for n in chosen if n not in names]
                if unknown:
                    raise ValueError(f"pool.models: {unknown} are not in the simulated pool {names}")
                return chosen
            return names
        return [m.name for m in self.pool.models]

    def for_step(self, step: str) -> "RunConfig":
        """This config with the sections ``step`` does not read reset to defaults, so that changing, say,
        the router's parameters does not invalidate the cached answers of the respond steps."""
        own = STEP_SECTIONS.get(step)
        if own is None:
            return self
        keep = STRUCTURAL_SECTIONS | own
        return RunConfig.model_validate(self.model_dump(include=keep, exclude_unset=False))

    def with_generator_preset(self, preset: str) -> "RunConfig":
        """The same run with every simulated generator replaced by ``preset`` (``rgd run --generator``)."""
        if not self.generators or any(g.kind != "simulated" for g in self.generators):
            raise ValueError("--generator PRESET applies to simulated runs only")
        gens = [g.model_copy(update={"preset": preset}) for g in self.generators[:1]]
        return RunConfig.model_validate({**self.model_dump(exclude={"generators"}), "generators":
                                         [g.model_dump() for g in gens]})

    def lineage_params(self) -> dict[str, Any]:
        """Flat, string-valued summary (MLflow params / tags)."""
        return {
            "config_name": self.name,
            "pipeline": self.pipeline,
            "generators": ",".join(g.name for g in self.generators),
            "pool": ",".join(self.pool_model_names()) if self.pipeline == "training" else "",
            "embedder": self.embedder.kind,
            "router": self.router.name,
            "n_per_subject": self.generation.n_per_subject,
            **{f"filter.{k}": v for k, v in self.filter.model_dump().items()},
        }


def _format_errors(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        lines.append(f"  {prefix}{loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def parse_run_config(data: Any, origin: str = "<config>") -> tuple[RunConfig, dict[str, Any]]:
    """Validate a config mapping; returns the RGD config and the ZenML run configuration (a dict)."""
    if not isinstance(data, dict):
        raise DataError("a run config must be a YAML mapping", path=origin)
    zenml_shaped = bool(ZENML_TOP_KEYS & set(data)) and "rgd" in ((data.get("extra") or {}))
    if zenml_shaped:
        zenml_cfg = {k: v for k, v in data.items() if k != "extra"}
        extra = dict(data.get("extra") or {})
        rgd_data = extra.pop("rgd")
        if extra:
            zenml_cfg["extra"] = extra
        prefix = "extra.rgd."
    else:
        rgd_data = dict(data)
        zenml_cfg = dict(rgd_data.pop("zenml", None) or {})
        prefix = ""
    try:
        config = RunConfig.model_validate(rgd_data)
    except ValidationError as exc:
        raise DataError(f"invalid run config:\n{_format_errors(exc, prefix)}", path=origin) from None
    if zenml_shaped:
        config = config.model_copy(update={"zenml": zenml_cfg})
    return config, zenml_cfg


def load_run_config(path: str | Path) -> tuple[RunConfig, dict[str, Any]]:
    """Read and validate a YAML run config (either shape)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the config ({exc.strerror})", path=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML ({exc})", path=path) from None
    return parse_run_config(data, str(path))


def default_config_path() -> Path:
    """``configs/default.yaml`` of this checkout (the embedded default)."""
    return Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def embedded_default() -> RunConfig:
    """The embedded default: the default config file when present, else the same values built in."""
    path = default_config_path()
    if path.is_file():
        return load_run_config(path)[0]
    return RunConfig(name="default", generators=[GeneratorSpec(kind="simulated", preset="strong")])
