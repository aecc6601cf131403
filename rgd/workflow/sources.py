"""Where a run's data comes from: the simulated world, real models, or a recorded pool. The ONE answer to
what kind of run this is.

:func:`source_for` looks at the run config once and returns a :class:`SimulatedSource`, an
:class:`LLMSource` (the training pipeline) or a :class:`RecordedSource` (the recorded pipeline); every
stage, the pipelines and the launcher ask the source (questions, test set, pool backends and names, the
pool's costs, whether the keys are a generator's, the files the run reads, what to check before it runs)
and never check the kind themselves. A simulated world is rebuilt from its config and the questions'
exported latent truth (:mod:`rgd.simulated.portable`), so nothing relies on state kept in memory between
stages.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.data.schema import Question, Response
from rgd.errors import DataError
from rgd.llm.backends.base import LLMBackend, SamplingConfig
from rgd.workflow.artifacts import QuestionSet, content_hash

#: the generator's re-answers (filter check a) sample at this temperature, each with its own seed
SELF_ANSWER_TEMPERATURE = 0.7


@dataclass(frozen=True)
class InputFiles:
    """The files and directories a run reads, by what reads them (their content hash keys the steps' cache)."""

    generators: tuple[str, ...] = ()  # a recorded replay's directories and answers files
    test_set: tuple[str, ...] = ()
    pool: tuple[str, ...] = ()  # a recorded pool's directory (the recorded pipeline's data)


def configured_costs(config: RunConfig, models: Sequence[str]) -> dict[str, float] | None:
    """The costs the config gives, validated (:mod:`rgd.routers.cost`): ``recorded.costs``, else
    ``pool.models[*].cost`` (all or none); None where it gives none."""
    from rgd.routers.cost import check_costs, load_costs

    if config.recorded is not None and config.recorded.costs is not None:
        return load_costs(config.recorded.costs, models)
    given = {m.name: m.cost for m in config.pool.models if m.cost is not None}
    return check_costs(given, models, where="pool.models: ") if given else None


class Source:
    """What every run's source answers; this base: the costs the config gives, no input files."""

    #: the training questions' keys are a generator's (data for the label-free router), not TRUE keys
    generated = True

    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def pool_costs(self, models: Sequence[str]) -> dict[str, float] | None:
        """Every pool model's cost (validated, in ``models`` order), or None where the run has none."""
        return configured_costs(self.config, models)

    def step_costs(self) -> str | dict[str, float] | None:
        """The pool's costs as the steps take them (:func:`rgd.workflow.costs.resolve_costs` validates them
        against the trained pool): here every pool model's, validated now."""
        return self.pool_costs(self.pool_model_names())

    def input_files(self) -> InputFiles:
        return InputFiles()

    def preflight(self) -> None:
        """Check what can be checked before any step runs (backends, directories, subjects)."""
        raise NotImplementedError

    # the views of the data steps: what decides the data, every other section at its default, so that a change
    # elsewhere (a router parameter, a filter threshold) keeps their cache (ZenML caches a step on its inputs)
    def generation_view(self) -> RunConfig:
        """The config generation reads: the data's sections and ``generation``, without the pool's settings
        (its models, their parameters, the simulated pool's config): generation never asks the pool, so adding
        or removing a pool model keeps its cache."""
        from rgd.simulated.pool import PoolConfig

        config = data_view(self.config)
        update: dict[str, Any] = {"pool": _pool_view(config.pool)}
        if config.simulated is not None:
            update["simulated"] = config.simulated.model_copy(update={"pool": PoolConfig()})
        return config.model_copy(update=update)

    def test_set_view(self) -> RunConfig:
        """The config the test set's loader reads (the pool's models are not its business either)."""
        config = data_view(self.config)
        return config.model_copy(update={"pool": _pool_view(config.pool, keep_params=True)})

    def respond_view(self, model: str | None = None) -> RunConfig:
        """The config a pool model's answering reads: the data's sections and ``respond``. With ``model``: of
        the pool's models only that one (without its cost), so that adding, removing or replacing another model
        keeps this model's cached answers (ZenML caches the step on this view)."""
        config = data_view(self.config, "respond")
        if model is None:
            return config
        return config.model_copy(update={"pool": _pool_view(config.pool, keep_params=True, model=model)})


#: the stand-in pool models of a data step's view of the config (a pool of one or none is not a valid config, and
#: the models a step does not read must not be in its cache key)
VIEW_PEERS = ("rgd-view-peer-a", "rgd-view-peer-b")


def _pool_view(pool: Any, keep_params: bool = False, model: str | None = None) -> Any:
    """``pool`` as a data step's view holds it: its models replaced by :data:`VIEW_PEERS` (``model``'s spec, less
    its cost, in the first place where given); a simulated pool keeps no model (the world's whole pool). The
    parameters are kept where ``keep_params``, else only a recorded pool's directory (what the pool is)."""
    from rgd.config.run_config import PoolModelSpec

    params = pool.params if keep_params or pool.kind == "recorded" else {}
    if pool.kind == "simulated":
        models: list[Any] = []
    else:
        own = [m.model_copy(update={"cost": None}) for m in pool.models if m.name == model]
        models = own + [PoolModelSpec(name=n) for n in VIEW_PEERS[len(own):]]
    return pool.model_copy(update={"params": params, "models": models})


class TrainingSource(Protocol):
    """What the training pipeline's stages need from the world the data comes from (besides :class:`Source`)."""

    def generate(self, progress: bool = True) -> tuple[QuestionSet, ResponseTable | None]: ...

    def test_set(self) -> QuestionSet: ...

    def pool_model_names(self) -> list[str]: ...

    def pool_backend(self, model: str, *question_sets: QuestionSet,
                     extra_params: dict[str, Any] | None = None) -> LLMBackend: ...

    def answer_identity(self, model: str, *question_sets: QuestionSet,
                        extra_params: dict[str, Any] | None = None) -> dict[str, Any]:
        """JSON-able: everything besides the questions and the sampling that decides ``model``'s answers."""
        ...


#: the sections that decide what a run's data is (with ``generation``, which decides the generated questions)
DATA_SECTIONS = frozenset({"pipeline", "benchmark", "simulated", "generators", "generation", "pool", "test_set",
                           "recorded"})


def data_view(config: RunConfig, *sections: str) -> RunConfig:
    """``config`` with the :data:`DATA_SECTIONS` and ``sections`` as they are and every other section at its
    default (a valid config still: each of them defaults to a consistent value)."""
    kept = DATA_SECTIONS | set(sections)
    return config.model_copy(update={name: field.get_default(call_default_factory=True)
                                     for name, field in RunConfig.model_fields.items() if name not in kept})


def source_for(config: RunConfig) -> Source:
    """The source of a run: recorded for the recorded pipeline; simulated when the training pipeline's pool
    is simulated (the config forbids mixing); else real models."""
    if config.pipeline == "recorded":
        return RecordedSource(config)
    return SimulatedSource(config) if config.is_simulated else LLMSource(config)


def merge_self_answers(tables: list[ResponseTable], n_samples: int) -> ResponseTable | None:
    """One table whose row i holds, for every question, its own generator's i-th re-answer."""
    if not tables or n_samples == 0:
        return None
    return ResponseTable(
        models=tuple(f"generator#sample{i}" for i in range(n_samples)),
        question_ids=tuple(q for t in tables for q in t.question_ids),
        subjects=np.concatenate([t.subjects for t in tables]),
        n_options=np.concatenate([t.n_options for t in tables]),
        choices=np.concatenate([t.choices for t in tables], axis=1),
        confidence=np.concatenate([t.confidence for t in tables], axis=1),
        answers=np.concatenate([t.answers for t in tables]),
    )


def stack_samples(rows: list[ResponseTable]) -> ResponseTable:
    """Single-model tables of one generator's re-answers over the same questions as one table, a row each."""
    first = rows[0]
    return ResponseTable(
        models=tuple(f"generator#sample{i}" for i in range(len(rows))),
        question_ids=first.question_ids, subjects=first.subjects, n_options=first.n_options,
        choices=np.concatenate([r.choices for r in rows]),
        confidence=np.concatenate([r.confidence for r in rows]), answers=first.answers,
    )


def generation_checkpoint(model: str, identity: dict[str, Any]):
    """Where one generator's raw generations (or its re-answers) are checkpointed: keyed on everything that
    decides them."""
    import hashlib

    from rgd.config.run_config import model_slug
    from rgd.home import rgd_home

    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    return rgd_home() / "checkpoints" / "generate" / key / f"{model_slug(model)}.jsonl"


def count_subjects(questions: Sequence[Question]) -> dict[str, int]:
    out: dict[str, int] = {}
    for q in questions:
        out[q.subject] = out.get(q.subject, 0) + 1
    return out


class SimulatedSource(Source):
    """The offline world with known truth: simulated generators, pool and true-key test set."""

    def pool_costs(self, models: Sequence[str]) -> dict[str, float] | None:
        """The configured costs, else the simulated pool's own (computed from its config, no world built)."""
        from rgd.routers.cost import check_costs
        from rgd.simulated.pool import model_costs

        sim = self.config.simulated
        return configured_costs(self.config, models) or check_costs(model_costs(sim.world.subjects(), sim.pool),
                                                                    models)

    def preflight(self) -> None:
        self.pool_model_names()

    def world(self, *question_sets: QuestionSet):
        """A fresh world of the config with the given question sets' latent truth registered."""
        from rgd.simulated.portable import import_latents
        from rgd.simulated.world import World

        world = World(self.config.simulated.world)
        for qs in question_sets:
            if qs.latents is None:
                raise DataError(f"the {qs.role} question set carries no simulated latents")
            import_latents(world, qs.questions, qs.latents)
        return world

    def generate(self, progress: bool = True) -> tuple[QuestionSet, ResponseTable | None]:
        from rgd.simulated.generator import SimulatedGenerator
        from rgd.simulated.portable import export_latents
        from rgd.simulated.world import World

        config, gen = self.config, self.config.generation
        world = World(config.simulated.world)
        # the test set is drawn first in every process that needs it, so generation never reuses its texts
        world.benchmark(0, config.simulated.n_test, seed=config.simulated.test_seed)
        questions: list[Question] = []
        self_tables: list[ResponseTable] = []
        reports: dict[str, Any] = {}
        for spec in config.generators:
            g = SimulatedGenerator(world, spec.simulated_config())
            t0 = time.perf_counter()
            qs = g.generate_questions(gen.n_per_subject, seed=gen.seed)
            questions += qs
            if gen.self_answer_samples:
                self_tables.append(g.self_answer_table(qs, gen.self_answer_samples))
            reports[spec.name] = {"kept": len(qs), "per_subject": count_subjects(qs),
                                  "seconds": round(time.perf_counter() - t0, 3)}
        qset = QuestionSet(tuple(questions), tuple(g.name for g in config.generators), "generated",
                           export_latents(world, questions), {"generators": reports})
        return qset, merge_self_answers(self_tables, gen.self_answer_samples)

    def test_set(self) -> QuestionSet:
        from rgd.simulated.portable import export_latents
        from rgd.simulated.world import World

        sim = self.config.simulated
        world = World(sim.world)
        _, test = world.benchmark(0, sim.n_test, seed=sim.test_seed)
        return QuestionSet(tuple(test), (), "test", export_latents(world, test),
                           {"source": f"simulated-world-{sim.world.seed}"})

    def pool_model_names(self) -> list[str]:
        """The world's pool in table order, or the subset ``pool.models`` names."""
        from rgd.simulated.pool import model_names

        names = model_names(self.config.simulated.world.subjects(), self.config.simulated.pool)
        chosen = [m.name for m in self.config.pool.models]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise DataError(f"pool.models: {unknown} are not in the simulated pool {names}")
        return chosen or names

    def pool_backend(self, model: str, *question_sets: QuestionSet,
                     extra_params: dict[str, Any] | None = None) -> LLMBackend:
        from rgd.simulated.pool import SimulatedPool

        pool = SimulatedPool(self.world(*question_sets), self.config.simulated.pool)
        for m in pool.models:
            if m.model == model:
                return m
        raise DataError(f"{model!r} is not a model of the simulated pool {pool.names}")

    def answer_identity(self, model: str, *question_sets: QuestionSet,
                        extra_params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The world, the pool's config and the questions' latent truth: a simulated model's answers follow."""
        import hashlib

        h = hashlib.sha256()
        for qs in question_sets:
            for key in sorted(qs.latents or {}):
                value = np.asarray(qs.latents[key])
                h.update(key.encode() + str(value.dtype).encode() + str(value.shape).encode() + value.tobytes())
        sim = self.config.simulated
        return {"kind": "simulated", "model": model, "world": sim.world.model_dump(mode="json"),
                "pool": sim.pool.model_dump(mode="json"), "latents": h.hexdigest()}


class LLMSource(Source):
    """Real models behind backends (vLLM, OpenAI-compatible servers, Gemini) and a benchmark's test split."""

    def input_files(self) -> InputFiles:
        generators: list[str] = []
        for spec in self.config.generators:
            if spec.kind == "recorded":
                generators += [spec.params["dir"]] + ([spec.params["answers"]] if spec.params.get("answers") else [])
        test_set = self.config.test_set
        pool = self.config.pool
        return InputFiles(tuple(generators), () if test_set is None else (test_set.dir,),
                          (pool.params["dir"],) if pool.kind == "recorded" else ())

    def preflight(self) -> None:
        """The generators' and the pool's backend parameters (matched against their constructors), a replay's
        files, the pool's names, the subjects and the test set (read with the loaders the steps use)."""
        from rgd.data.recorded import load_recorded, load_split_questions
        from rgd.generation import load_subjects
        from rgd.llm.backends import check_backend

        config = self.config
        for spec in config.generators:
            if spec.kind == "recorded":  # a replay: its directory, split and answers file read as the step will
                replay_spec(spec, config.generation)
            else:
                check_backend(spec.kind, spec.model, dict(spec.params), f"generator {spec.name!r}")
        names = self.pool_model_names()
        if config.pool.kind == "recorded":
            load_recorded(config.pool.params["dir"], names)
        else:
            for model in names:
                check_backend(config.pool.kind, model, self._params(model, None), f"pool model {model!r}")
        self.step_costs()  # all the pool models' costs or none, named now rather than in the train step
        if config.generation.subjects or config.benchmark:
            load_subjects(config.generation.subjects or config.benchmark)
        if config.test_set is not None:  # none: label-free end to end (estimated on held-out generated questions)
            load_split_questions(config.test_set.dir, config.test_set.split, config.benchmark)

    def generate(self, progress: bool = True) -> tuple[QuestionSet, ResponseTable | None]:
        from rgd.generation import generate_questions, load_subjects
        from rgd.generation.generate import TOKENS_PER_QUESTION
        from rgd.generation.prompt import PROMPT_VERSION
        from rgd.llm.answering import answer_all
        from rgd.llm.backends import TRANSPORT_PARAMS, make_backend

        config, gen = self.config, self.config.generation
        replayed_only = all(spec.kind == "recorded" for spec in config.generators)
        subjects = None if replayed_only else load_subjects(gen.subjects or config.benchmark)
        questions: list[Question] = []
        self_tables: list[ResponseTable] = []
        reports: dict[str, Any] = {}
        for spec in config.generators:
            if spec.kind == "recorded":
                qs, reports[spec.name] = replay_spec(spec, self.config.generation)
                questions += qs
                if gen.self_answer_samples:  # a replay answers its own question with its recorded key, every time
                    keyed = ResponseTable.from_records(qs, [Response(model=spec.name, question_id=q.id,
                                                                     choice=q.answer) for q in qs], [spec.name])
                    self_tables.append(stack_samples([keyed] * gen.self_answer_samples))
                continue
            backend = make_backend(spec.kind, model=spec.model, **spec.params)
            seed = gen.seed + spec.seed
            sampling = SamplingConfig(temperature=0.8, top_p=0.95,
                                      max_tokens=gen.max_tokens or TOKENS_PER_QUESTION * gen.questions_per_call)
            identity = {"kind": spec.kind, "model": spec.model, "prompt": PROMPT_VERSION,
                        "params": {k: v for k, v in spec.params.items() if k not in TRANSPORT_PARAMS},
                        "subjects": [s.model_dump(mode="json") for s in subjects.subjects],
                        "n_per_subject": gen.n_per_subject, "questions_per_call": gen.questions_per_call,
                        "seed": seed, "max_calls": gen.max_calls, "sampling": sampling.model_dump()}
            qs, report = generate_questions(backend, subjects, gen.n_per_subject, gen.questions_per_call,
                                            seed=seed, sampling=sampling, progress=progress, max_calls=gen.max_calls,
                                            min_kept_fraction=gen.min_kept_fraction,
                                            abort_after_empty_calls=gen.abort_after_empty_calls,
                                            checkpoint_path=generation_checkpoint(spec.model, identity),
                                            resume=gen.resume)
            questions += qs
            reports[spec.name] = json.loads(report.model_dump_json())
            if gen.self_answer_samples:
                rows = []
                for i in range(gen.self_answer_samples):
                    sampling = SamplingConfig(temperature=SELF_ANSWER_TEMPERATURE, seed=gen.seed * 1000 + i,
                                              max_tokens=gen.self_answer_max_tokens)
                    path = generation_checkpoint(f"{spec.model}-self-answer-{i}", {
                        "generator": identity, "sampling": sampling.model_dump(), "questions": content_hash(qs)})
                    responses = answer_all(backend, qs, checkpoint_path=path, progress=progress, sampling=sampling,
                                           resume=gen.resume)
                    rows.append(ResponseTable.from_records(qs, responses, [backend.model]))
                self_tables.append(stack_samples(rows))
        qset = QuestionSet(tuple(questions), tuple(g.name for g in config.generators), "generated", None,
                           {"generators": reports})
        return qset, merge_self_answers(self_tables, gen.self_answer_samples)

    def test_set(self) -> QuestionSet:
        from rgd.data.recorded import load_split_questions

        spec = self.config.test_set
        if spec is None:  # label-free end to end: evaluated on held-out generated questions only
            return QuestionSet((), (), "test", None, {"source": "none (label-free run)"})
        chosen = load_split_questions(spec.dir, spec.split, self.config.benchmark)
        missing = [q.id for q in chosen if q.answer is None]
        if missing:
            raise DataError(f"test questions must carry their true key; {len(missing)} do not "
                            f"(first: {missing[:5]})", path=spec.dir)
        if spec.limit:
            chosen = chosen[: spec.limit]
        return QuestionSet(tuple(chosen), (), "test", None, {"source": str(spec.dir), "split": spec.split})

    def pool_model_names(self) -> list[str]:
        return [m.name for m in self.config.pool.models]

    def pool_backend(self, model: str, *question_sets: QuestionSet,
                     extra_params: dict[str, Any] | None = None) -> LLMBackend:
        from rgd.llm.backends import make_backend

        return make_backend(self.config.pool.kind, model=model, **self._params(model, extra_params))

    def _params(self, model: str, extra_params: dict[str, Any] | None) -> dict[str, Any]:
        pool = self.config.pool
        spec = next((m for m in pool.models if m.name == model), None)
        if spec is None:
            raise DataError(f"{model!r} is not in the configured pool {[m.name for m in pool.models]}")
        return {**pool.params, **spec.params, **(extra_params or {})}

    def answer_identity(self, model: str, *question_sets: QuestionSet,
                        extra_params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The backend kind, the model and every backend parameter but the transport ones (base URL, served
        model, chat or completions, ... count; timeouts and retries do not)."""
        from rgd.llm.backends import TRANSPORT_PARAMS

        params = {k: v for k, v in self._params(model, extra_params).items() if k not in TRANSPORT_PARAMS}
        identity = {"kind": self.config.pool.kind, "model": model, "params": json.loads(json.dumps(params, default=str))}
        if self.config.pool.kind == "recorded":  # replayed answers follow the recorded files' content
            from pathlib import Path

            from rgd.data.recorded import directory_fingerprint

            identity["recorded"] = directory_fingerprint(Path(params["dir"]) / "responses")
        return identity


class RecordedSource(Source):
    """A recorded pool's answers to a benchmark's questions, split into train and test (the recorded pipeline):
    no generator, so the training keys are TRUE keys."""

    generated = False

    def step_costs(self) -> str | dict[str, float] | None:
        """``recorded.costs`` as given (a file or a map): validated by the steps against the recorded pool."""
        return self.config.recorded.costs

    def input_files(self) -> InputFiles:
        return InputFiles(pool=(self.config.recorded.dir,))

    def pool_model_names(self) -> list[str]:
        """``recorded.models``, or every model the directory has answers of (what the loader then loads)."""
        from rgd.data.recorded import recorded_models

        return list(self.config.recorded.models or recorded_models(self.config.recorded.dir))

    def preflight(self) -> None:
        """The recorded directory, read with the loader the step uses."""
        from rgd.data.recorded import load_recorded

        load_recorded(self.config.recorded.dir, self.config.recorded.models)


def replay_spec(spec: Any, generation: Any) -> tuple[list[Question], dict[str, Any]]:
    """A recorded generator's questions and report (``spec``: a ``kind: recorded`` GeneratorSpec): what the
    generate step writes, and what the launcher's preflight reads to check the replay before any step runs."""
    from rgd.generation.replay import replay_generated

    return replay_generated(spec.params["dir"], spec.name, generation.n_per_subject,
                            seed=generation.seed + spec.seed, answers=spec.params.get("answers"),
                            split=spec.params.get("split", "train"))
