"""The generator loop: prompt a backend for questions, subject by subject, until every quota is met.

Only ``LLMBackend.generate`` is used. Each batch of prompts covers the subjects that still need questions
in round-robin order, so subjects fill evenly; a question whose normalised text was seen before (in this
run) is a duplicate and dropped; every kept question carries its provenance (generator, prompt version,
seed) and a stable id derived from its text. The loop stops when all quotas are met or when the budget of
calls (one call = one prompt) is spent; the report says which.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Literal, Sequence

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from rgd.llm.backends.base import LLMBackend, SamplingConfig
from rgd.errors import ParameterError, RGDError
from rgd.generation.format import parse_generation, text_hash
from rgd.generation.prompt import PROMPT_VERSION, build_generation_prompt
from rgd.data.subjects import SubjectSet, SubjectSpec
from rgd.data.schema import Provenance, Question

DEFAULT_BATCH_SIZE = 64
DEFAULT_BUDGET_FACTOR = 3  # max calls = this x the calls needed if every call yielded in full
TOKENS_PER_QUESTION = 600


class GenerationReport(BaseModel):
    """What a generation run did (JSON-able: ``report.model_dump_json()``)."""

    generator: str
    prompt_version: str
    seed: int
    n_per_subject: int
    questions_per_call: int
    max_calls: int
    calls: int = 0
    batches: int = 0
    parsed: int = Field(0, description="question blocks that parsed into valid questions")
    kept: int = 0
    duplicates: int = Field(0, description="parsed questions whose normalised text was already kept")
    surplus: int = Field(0, description="parsed questions beyond a subject's quota")
    skipped: dict[str, int] = Field(default_factory=dict, description="unusable blocks, by reason")
    per_subject: dict[str, int] = Field(default_factory=dict)
    shortfall: dict[str, int] = Field(default_factory=dict, description="questions missing per subject")
    stop_reason: Literal["quotas_met", "max_calls"] = "quotas_met"


def _subject_list(subjects: SubjectSet | Sequence[SubjectSpec]) -> list[SubjectSpec]:
    specs = list(subjects.subjects if isinstance(subjects, SubjectSet) else subjects)
    if not specs:
        raise ParameterError("no subjects to generate for")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ParameterError(f"subject names must be unique, got {names}")
    for s in specs:
        if s.n_options is None:
            raise ParameterError(f"subject {s.name!r} has no n_options; load subjects through load_subjects()")
    return specs


def _plan_batch(
    specs: list[SubjectSpec], need: dict[str, int], per_call: int, size: int
) -> list[SubjectSpec]:
    """Round-robin over subjects that still need questions, never planning more calls than they need."""
    planned: Counter = Counter()
    batch: list[SubjectSpec] = []
    while len(batch) < size:
        added = False
        for s in specs:
            if len(batch) >= size:
                break
            if need[s.name] - planned[s.name] * per_call > 0:
                batch.append(s)
                planned[s.name] += 1
                added = True
        if not added:
            break
    return batch


def generate_questions(
    backend: LLMBackend,
    subjects: SubjectSet | Sequence[SubjectSpec],
    n_per_subject: int,
    questions_per_call: int,
    seed: int,
    sampling: SamplingConfig | None = None,
    progress: bool = True,
    max_calls: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> tuple[list[Question], GenerationReport]:
    """Generate ``n_per_subject`` questions for every subject with ``backend``; see the module docstring."""
    if n_per_subject < 1 or questions_per_call < 1 or batch_size < 1:
        raise ParameterError("n_per_subject, questions_per_call and batch_size must all be >= 1")
    specs = _subject_list(subjects)
    if max_calls is None:
        max_calls = DEFAULT_BUDGET_FACTOR * len(specs) * math.ceil(n_per_subject / questions_per_call)
    if max_calls < 1:
        raise ParameterError(f"max_calls must be >= 1, got {max_calls}")
    if sampling is None:
        sampling = SamplingConfig(temperature=0.8, top_p=0.95, max_tokens=TOKENS_PER_QUESTION * questions_per_call)

    generator = backend.model
    provenance = Provenance(kind="generated", source=generator, prompt_version=PROMPT_VERSION, seed=seed)
    report = GenerationReport(
        generator=generator, prompt_version=PROMPT_VERSION, seed=seed,
        n_per_subject=n_per_subject, questions_per_call=questions_per_call, max_calls=max_calls,
    )
    kept: dict[str, list[Question]] = {s.name: [] for s in specs}
    seen: set[str] = set()
    variants: Counter = Counter()
    skipped: Counter = Counter()

    bar = tqdm(total=n_per_subject * len(specs), disable=not progress, desc=f"generating with {generator}")
    try:
        while True:
            need = {s.name: n_per_subject - len(kept[s.name]) for s in specs}
            if all(v <= 0 for v in need.values()):
                report.stop_reason = "quotas_met"
                break
            budget = max_calls - report.calls
            if budget <= 0:
                report.stop_reason = "max_calls"
                break
            batch = _plan_batch(specs, need, questions_per_call, min(batch_size, budget))
            prompts = []
            for s in batch:
                prompts.append(build_generation_prompt(s, questions_per_call, variant=variants[s.name]))
                variants[s.name] += 1
            batch_sampling = sampling.model_copy(update={"seed": seed * 1_000_003 + report.batches})
            generations = backend.generate(prompts, batch_sampling)
            if len(generations) != len(prompts):
                raise RGDError(
                    f"backend {generator!r} returned {len(generations)} generations for {len(prompts)} prompts"
                )
            report.calls += len(prompts)
            report.batches += 1
            for spec, gen in zip(batch, generations):
                parsed = parse_generation(getattr(gen, "text", None), spec.n_options, spec.name, provenance)
                skipped.update(parsed.skipped)
                report.parsed += len(parsed.questions)
                for q in parsed.questions:
                    key = text_hash(q.text)
                    if key in seen:
                        report.duplicates += 1
                    elif len(kept[spec.name]) >= n_per_subject:
                        report.surplus += 1
                    else:
                        seen.add(key)
                        kept[spec.name].append(q)
                        bar.update(1)
    finally:
        bar.close()

    questions = [q for s in specs for q in kept[s.name]]
    report.kept = len(questions)
    report.skipped = dict(sorted(skipped.items()))
    report.per_subject = {s.name: len(kept[s.name]) for s in specs}
    report.shortfall = {s.name: n_per_subject - len(kept[s.name]) for s in specs if len(kept[s.name]) < n_per_subject}
    return questions, report
