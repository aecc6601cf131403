"""The stages of the RGD training pipeline as plain functions of a :class:`~rgd.config.run_config.RunConfig`.

Each pipeline step (``steps/``) is a thin wrapper around one of these; they are also usable without ZenML.
Nothing here relies on state kept in memory between stages: a simulated world is rebuilt from its config
and the questions' exported latent truth (see :mod:`rgd.simulated.portable`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, QuestionSet, RouterSet
from rgd.llm.backends.base import LLMBackend, SamplingConfig
from rgd.config.run_config import RunConfig, model_slug
from rgd.consensus import ConsensusScorer
from rgd.errors import DataError, RGDError
from rgd.evaluation.metrics import evaluate_routers
from rgd.filtering import FilterReport, filter_questions
from rgd.config.home import embedding_cache_dir, rgd_home
from rgd.data.response_table import ResponseTable
from rgd.routers.base import TrainingSet
from rgd.routers.registry import fit_router
from rgd.data.schema import Question

log = logging.getLogger(__name__)

FAIL_AFTER_ENV = "RGD_FAIL_RESPOND_AFTER"
FAIL_MODEL_ENV = "RGD_FAIL_RESPOND_MODEL"


class InjectedFailure(RGDError):
    """A failure injected on purpose (``RGD_FAIL_RESPOND_AFTER``) to test crash recovery."""


# ---------------------------------------------------------------------- simulated world
def simulated_world(config: RunConfig, *question_sets: QuestionSet):
    """A fresh world of the config with the given question sets' latent truth registered."""
    from rgd.simulated.portable import import_latents
    from rgd.simulated.world import World

    world = World(config.simulated.world)
    for qs in question_sets:
        if qs.latents is None:
            raise DataError(f"the {qs.role} question set carries no simulated latents")
        import_latents(world, qs.questions, qs.latents)
    return world


# ---------------------------------------------------------------------- generate
def _merge_self_answers(tables: list[ResponseTable], n_samples: int) -> ResponseTable | None:
    """One table whose row i holds, for every question, its own generator's i-th re-answer."""
    if not tables or n_samples == 0:
        return None
    models = tuple(f"generator#sample{i}" for i in range(n_samples))
    return ResponseTable(
        models=models,
        question_ids=tuple(q for t in tables for q in t.question_ids),
        subjects=np.concatenate([t.subjects for t in tables]),
        n_options=np.concatenate([t.n_options for t in tables]),
        choices=np.concatenate([t.choices for t in tables], axis=1),
        confidence=np.concatenate([t.confidence for t in tables], axis=1),
        answers=np.concatenate([t.answers for t in tables]),
    )


def generate(config: RunConfig, progress: bool = True) -> tuple[QuestionSet, ResponseTable | None]:
    """Generated questions of every generator, and the generators' re-answers to them (filter check a)."""
    gen = config.generation
    all_q: list[Question] = []
    self_tables: list[ResponseTable] = []
    reports: dict[str, Any] = {}
    world = None
    if config.is_simulated:
        from rgd.simulated.generator import SimulatedGenerator
        from rgd.simulated.world import World

        world = World(config.simulated.world)
        # the test set is drawn first in every process that needs it, so generation never reuses its texts
        world.benchmark(0, config.simulated.n_test, seed=config.simulated.test_seed)
        for spec in config.generators:
            g = SimulatedGenerator(world, spec.simulated_config())
            t0 = time.perf_counter()
            qs = g.generate_questions(gen.n_per_subject, seed=gen.seed)
            all_q += qs
            if gen.self_answer_samples:
                self_tables.append(g.self_answer_table(qs, gen.self_answer_samples))
            reports[spec.name] = {"kept": len(qs), "per_subject": _count_subjects(qs),
                                  "seconds": round(time.perf_counter() - t0, 3)}
    else:
        from rgd.llm.answering import answer_all
        from rgd.llm.backends import make_backend
        from rgd.generation import generate_questions, load_subjects

        subjects = load_subjects(gen.subjects or config.benchmark)
        for spec in config.generators:
            backend = make_backend(spec.kind, model=spec.model, **spec.params)
            qs, report = generate_questions(backend, subjects, gen.n_per_subject, gen.questions_per_call,
                                            seed=gen.seed + spec.seed, progress=progress, max_calls=gen.max_calls)
            all_q += qs
            reports[spec.name] = json.loads(report.model_dump_json())
            if gen.self_answer_samples:
                rows = []
                for i in range(gen.self_answer_samples):
                    sampling = SamplingConfig(temperature=0.7, seed=gen.seed * 1000 + i, max_tokens=1024)
                    responses = answer_all(backend, qs, progress=progress, sampling=sampling)
                    rows.append(ResponseTable.from_records(qs, responses, [backend.model]))
                self_tables.append(ResponseTable(
                    models=tuple(f"generator#sample{i}" for i in range(len(rows))),
                    question_ids=rows[0].question_ids, subjects=rows[0].subjects, n_options=rows[0].n_options,
                    choices=np.concatenate([r.choices for r in rows]),
                    confidence=np.concatenate([r.confidence for r in rows]), answers=rows[0].answers))
    latents = None
    if world is not None:
        from rgd.simulated.portable import export_latents

        latents = export_latents(world, all_q)
    qset = QuestionSet(tuple(all_q), tuple(g.name for g in config.generators), "generated", latents,
                       {"generators": reports})
    return qset, _merge_self_answers(self_tables, gen.self_answer_samples)


def _count_subjects(questions: Sequence[Question]) -> dict[str, int]:
    out: dict[str, int] = {}
    for q in questions:
        out[q.subject] = out.get(q.subject, 0) + 1
    return out


# ---------------------------------------------------------------------- test set
def load_test_set(config: RunConfig) -> QuestionSet:
    """The real labelled test set: the simulated world's true-key questions, or a benchmark's split."""
    if config.is_simulated:
        from rgd.simulated.portable import export_latents
        from rgd.simulated.world import World

        world = World(config.simulated.world)
        _, test = world.benchmark(0, config.simulated.n_test, seed=config.simulated.test_seed)
        return QuestionSet(tuple(test), (), "test", export_latents(world, test),
                           {"source": f"simulated-world-{config.simulated.world.seed}"})
    from rgd.data.recorded import _find, load_questions

    spec = config.test_set
    directory = Path(spec.dir)
    questions = load_questions(_find(directory, "questions"), config.benchmark or directory.name)
    split_path = directory / "split.json"
    try:
        split = json.loads(split_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the split ({exc})", path=split_path) from None
    by_id = {q.id: q for q in questions}
    ids = [str(i) for i in split.get(spec.split, [])]
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise DataError(f"split {spec.split!r} names unknown question ids {unknown[:5]}", path=split_path)
    chosen = [by_id[i] for i in ids]
    if any(q.answer is None for q in chosen):
        raise DataError(f"test questions must carry their true key; {sum(q.answer is None for q in chosen)} do not",
                        path=directory)
    if spec.limit:
        chosen = chosen[: spec.limit]
    return QuestionSet(tuple(chosen), (), "test", None, {"source": str(directory), "split": spec.split})


# ---------------------------------------------------------------------- respond
class _CountingBackend(LLMBackend):
    """Counts what the wrapped backend is asked; raises an injected failure past ``fail_after``."""

    def __init__(self, inner: LLMBackend, fail_after: int | None = None) -> None:
        self.inner, self.model, self.fail_after, self.asked = inner, inner.model, fail_after, 0

    def generate(self, prompts, sampling=None):
        return self.inner.generate(prompts, sampling)

    def answer(self, questions, sampling=None):
        if self.fail_after is not None and self.asked + len(questions) > self.fail_after:
            raise InjectedFailure(f"respond {self.model!r}: injected failure after {self.asked} new answers "
                                  f"({FAIL_AFTER_ENV}={self.fail_after}); the answers so far are checkpointed")
        out = self.inner.answer(questions, sampling)
        self.asked += len(questions)
        return out


def _fail_after(model: str) -> int | None:
    raw = os.environ.get(FAIL_AFTER_ENV)
    if not raw:
        return None
    target = os.environ.get(FAIL_MODEL_ENV)
    if target and target not in (model, model_slug(model)):
        return None
    try:
        return int(raw)
    except ValueError:
        raise DataError(f"{FAIL_AFTER_ENV} must be an integer, got {raw!r}") from None


def pool_backend(config: RunConfig, model: str, *question_sets: QuestionSet,
                 extra_params: dict[str, Any] | None = None) -> LLMBackend:
    if config.is_simulated:
        from rgd.simulated.pool import SimulatedPool

        pool = SimulatedPool(simulated_world(config, *question_sets), config.simulated.pool)
        for m in pool.models:
            if m.model == model:
                return m
        raise DataError(f"{model!r} is not a model of the simulated pool {pool.names}")
    from rgd.llm.backends import make_backend

    spec = next((m for m in config.pool.models if m.name == model), None)
    if spec is None:
        raise DataError(f"{model!r} is not in the configured pool {[m.name for m in config.pool.models]}")
    return make_backend(config.pool.kind, model=model, **{**config.pool.params, **spec.params, **(extra_params or {})})


def checkpoint_path(model: str, questions: Sequence[Question]) -> Path:
    """Where one model's answers to one question set are checkpointed (keyed by the set's content)."""
    from rgd.workflow.artifacts import content_hash

    return rgd_home() / "checkpoints" / "respond" / content_hash(questions)[:16] / f"{model_slug(model)}.jsonl"


def respond(config: RunConfig, model: str, generated: QuestionSet, test: QuestionSet,
            progress: bool = True, backend_params: dict[str, Any] | None = None
            ) -> tuple[ResponseTable, ResponseTable, dict[str, Any]]:
    """One pool model answers the generated and the test questions, resumably (answer_all's checkpoint)."""
    from rgd.llm.answering import answer_all

    questions = list(generated.questions) + list(test.questions)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise DataError("a generated question has the id of a test question; cannot answer both in one table")
    inner = pool_backend(config, model, generated, test, extra_params=backend_params)
    backend = _CountingBackend(inner, _fail_after(model))
    path = checkpoint_path(model, questions)
    sampling = SamplingConfig(temperature=config.respond.temperature, max_tokens=config.respond.max_tokens)
    t0 = time.perf_counter()
    responses = answer_all(backend, questions, checkpoint_path=path, checkpoint_every=config.respond.checkpoint_every,
                           progress=progress, sampling=sampling)
    table = ResponseTable.from_records(questions, responses, [model])
    n_gen = len(generated)
    info = {"model": model, "n_questions": len(questions), "answered_now": backend.asked,
            "resumed_from_checkpoint": len(questions) - backend.asked, "checkpoint": str(path),
            "seconds": round(time.perf_counter() - t0, 3),
            "answer_rate": float((table.choices >= 0).mean()) if len(questions) else 0.0}
    return table.take(np.arange(n_gen)), table.take(np.arange(n_gen, len(questions))), info


def merge_pool(tables: Sequence[ResponseTable], models: Sequence[str] | None = None) -> ResponseTable:
    """Stack single-model tables over the same questions into one pool table (in ``models`` order)."""
    if not tables:
        raise DataError("no response tables to merge")
    first = tables[0]
    by_model: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in tables:
        if t.question_ids != first.question_ids:
            raise DataError(f"responses of {t.models} cover other questions than those of {first.models}")
        for i, m in enumerate(t.models):
            if m in by_model:
                raise DataError(f"two response tables for model {m!r}")
            by_model[m] = (t.choices[i], t.confidence[i])
    order = list(models) if models is not None else list(by_model)
    missing = [m for m in order if m not in by_model]
    if missing:
        raise DataError(f"no responses of pool models {missing}")
    return ResponseTable(models=tuple(order), question_ids=first.question_ids, subjects=first.subjects,
                         n_options=first.n_options, choices=np.stack([by_model[m][0] for m in order]),
                         confidence=np.stack([by_model[m][1] for m in order]), answers=first.answers)


# ---------------------------------------------------------------------- filter, consensus
def filter_stage(config: RunConfig, generated: QuestionSet, pool_table: ResponseTable,
                 self_answers: ResponseTable | None) -> tuple[QuestionSet, ResponseTable, FilterReport]:
    kept, kept_table, report = filter_questions(list(generated.questions), pool_table, self_answers, config.filter)
    if not kept:
        raise DataError(f"the filter dropped all {report.n_input} generated questions ({report.failures}); "
                        "loosen the thresholds or use a better generator")
    qset = generated.subset([q.id for q in kept], role="filtered")
    return qset, kept_table, report


def consensus_stage(config: RunConfig, table: ResponseTable) -> ConsensusArtifact:
    scorer = ConsensusScorer(temperature=config.filter.consensus_temperature, **config.consensus.model_dump()).fit(table)
    return ConsensusArtifact(scorer, scorer.score(table), table.question_ids)


# ---------------------------------------------------------------------- embed
def embed_stage(config: RunConfig, train: QuestionSet, test: QuestionSet, cache_dir: Path | None = None):
    """Fit the embedder on the training texts; embed both sets (through the on-disk cache)."""
    from rgd.embedding import fit_and_embed

    embedder, train_v, test_v = fit_and_embed(config.embedder.kind, train.texts, test.texts,
                                              cache_dir or embedding_cache_dir(), **config.embedder.params)
    train_x = EmbeddingMatrix(tuple(train.ids), train_v, embedder.identity, embedder.kind)
    test_x = EmbeddingMatrix(tuple(test.ids), test_v, embedder.identity, embedder.kind)
    return embedder, train_x, test_x


# ---------------------------------------------------------------------- train, evaluate
def train_stage(config: RunConfig, table: ResponseTable, embeddings: EmbeddingMatrix,
                consensus: ConsensusArtifact) -> RouterSet:
    """Train the configured router and the baselines on the same generated data."""
    if embeddings.question_ids != table.question_ids or consensus.question_ids != table.question_ids:
        raise DataError("embeddings, consensus and responses are not aligned on the same training questions")
    train = TrainingSet(table, embeddings.vectors, consensus.result)
    # label-using baselines learn from the generator's keys (all a query-answer router has here)
    routers = {
        name: fit_router(name, config.router.params if name == config.router.name else {}, train)
        for name in dict.fromkeys([config.router.name, *config.router.baselines])
    }
    return RouterSet(routers, config.router.name)


def evaluate_stage(routers: RouterSet, test_table: ResponseTable, test_x: EmbeddingMatrix,
                   consensus: ConsensusArtifact) -> dict[str, Any]:
    """Accuracy of every router and reference on the labelled test set (JSON-able)."""
    if test_x.question_ids != test_table.question_ids:
        raise DataError("test embeddings and test responses are not aligned")
    results = evaluate_routers(routers.routers, test_table, test_x.vectors, consensus.scorer)
    best_single = test_table.accuracy()
    import hashlib

    digest = hashlib.sha256("\n".join(f"{q}\t{a}" for q, a in zip(test_table.question_ids,
                                                                  test_table.answers.tolist())).encode())
    return {
        "primary": routers.primary,
        "n_test": test_table.n_questions,
        "test_set_id": f"sha256:{digest.hexdigest()[:16]}",
        "routers": {name: r.to_dict() for name, r in results.items()},
        "pool_accuracy": {m: float(a) for m, a in zip(test_table.models, best_single)},
    }


def flat_metrics(evaluation: dict[str, Any], filter_report: dict[str, Any] | None = None) -> dict[str, float]:
    """MLflow-style metrics: ``top1`` / ``top3_vote`` of the primary router, every router's, per subject."""
    out: dict[str, float] = {}
    primary = evaluation["routers"][evaluation["primary"]]
    out["top1"], out["top3_vote"] = primary["top1"], primary["top3_vote"]
    for name, r in evaluation["routers"].items():
        out[f"{name}.top1"], out[f"{name}.top3_vote"] = r["top1"], r["top3_vote"]
        for subject, s in r.get("per_subject", {}).items():
            out[f"{name}.{subject}.top1"] = s["top1"]
    for m, a in evaluation.get("pool_accuracy", {}).items():
        out[f"pool.{model_slug(m)}.accuracy"] = a
    if filter_report:
        out["filter.n_input"] = filter_report["n_input"]
        out["filter.n_kept"] = filter_report["n_kept"]
        for check, n in filter_report.get("failures", {}).items():
            out[f"filter.failed.{check}"] = n
    return out
