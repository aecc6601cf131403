"""The generator loop: prompt a backend for questions, subject by subject, until every quota is met.

Only ``LLMBackend.generate`` is used. Each batch of prompts covers the subjects that still need questions
in round-robin order, so subjects fill evenly; a question whose normalised text was seen before (in this
run) is a duplicate and dropped; every kept question carries its provenance (generator, prompt version,
seed) and a stable id derived from its text. The loop stops when all quotas are met or when the budget of
calls (one call = one prompt) is spent; the report says which.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Literal, Sequence

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from rgd.data.schema import Provenance, Question
from rgd.data.subjects import SubjectSet, SubjectSpec
from rgd.errors import DataError, ParameterError, RGDError
from rgd.generation.format import parse_generation, text_hash
from rgd.generation.prompt import PROMPT_VERSION, build_generation_prompt
from rgd.llm.backends.base import LLMBackend, SamplingConfig

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
    failed_samples: list[str] = Field(default_factory=list, description="the start of a few outputs that "
                                      "yielded no usable question (for the error a poor generator gets)")
    replayed_batches: int = Field(0, description="batches read back from the checkpoint instead of generated")


SAMPLES_KEPT = 3
SAMPLE_CHARS = 400


def _reasons(report: GenerationReport, skipped: Counter) -> str:
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) or "none recorded"
    return f"unusable blocks by reason: {reasons}"


def _samples(report: GenerationReport) -> str:
    if not report.failed_samples:
        return "no output sample kept"
    return "a sample of its output:\n" + "\n---\n".join(report.failed_samples)


class _Checkpoint:
    """Raw generations, one JSON line per batch (``{"batch", "prompts", "texts"}``, ``prompts``: the sha256 of
    the batch's prompts); appended, flushed and fsynced per batch. A rerun replays the stored batches in
    order (so the same seed gives the same questions whatever the backend does) and generates from the first
    batch that is missing or whose prompts differ; a torn last line is dropped."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stored: list[dict] = []
        intact = 0
        if resume and path.exists():
            raw = path.read_bytes()
            for line in raw.split(b"\n")[:-1]:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    break
                if not isinstance(obj, dict) or obj.get("batch") != len(self.stored):
                    break
                self.stored.append(obj)
                intact += len(line) + 1
        self.fh = open(path, "r+b" if path.exists() else "wb")
        self.fh.truncate(intact)
        self.fh.seek(intact)

    @staticmethod
    def prompts_hash(prompts: list[str]) -> str:
        return hashlib.sha256("\0".join(prompts).encode("utf-8")).hexdigest()

    def replay(self, batch: int, prompts: list[str]) -> list[str] | None:
        if batch < len(self.stored) and self.stored[batch].get("prompts") == self.prompts_hash(prompts):
            texts = self.stored[batch].get("texts")
            if isinstance(texts, list) and len(texts) == len(prompts):
                return [t if isinstance(t, str) else "" for t in texts]
        if batch < len(self.stored):  # the run diverged from the checkpoint: drop the rest of it
            del self.stored[batch:]
            self.fh.seek(0)
            keep = b"".join(json.dumps(o).encode("utf-8") + b"\n" for o in self.stored)
            self.fh.truncate(0)
            self.fh.write(keep)
        return None

    def append(self, batch: int, prompts: list[str], texts: list[str]) -> None:
        line = json.dumps({"batch": batch, "prompts": self.prompts_hash(prompts), "texts": texts})
        self.fh.write(line.encode("utf-8") + b"\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


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
    min_kept_fraction: float = 0.0,
    abort_after_empty_calls: int | None = None,
    checkpoint_path: str | Path | None = None,
    resume: bool = True,
) -> tuple[list[Question], GenerationReport]:
    """Generate ``n_per_subject`` questions for every subject with ``backend``; see the module docstring.

    A generator that yields too little is a :class:`DataError` with the parse errors and a sample of its
    output: at once when ``abort_after_empty_calls`` calls have yielded no usable question at all, and at the
    end when fewer than ``min_kept_fraction`` of the questions asked for were kept. With ``checkpoint_path``
    every batch's raw output is saved as it arrives and replayed by a rerun (``resume``)."""
    if not 0 <= min_kept_fraction <= 1:
        raise ParameterError(f"min_kept_fraction must be in [0, 1], got {min_kept_fraction}")
    if abort_after_empty_calls is not None and abort_after_empty_calls < 1:
        raise ParameterError(f"abort_after_empty_calls must be >= 1, got {abort_after_empty_calls}")
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

    checkpoint = _Checkpoint(Path(checkpoint_path), resume) if checkpoint_path is not None else None
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
            texts = checkpoint.replay(report.batches, prompts) if checkpoint is not None else None
            if texts is not None:
                report.replayed_batches += 1
            else:
                generations = backend.generate(prompts, batch_sampling)
                if len(generations) != len(prompts):
                    raise RGDError(
                        f"backend {generator!r} returned {len(generations)} generations for {len(prompts)} prompts"
                    )
                texts = [getattr(g, "text", None) or "" for g in generations]
                if checkpoint is not None:
                    checkpoint.append(report.batches, prompts, texts)
            report.calls += len(prompts)
            report.batches += 1
            for spec, text in zip(batch, texts):
                parsed = parse_generation(text, spec.n_options, spec.name, provenance)
                skipped.update(parsed.skipped)
                report.parsed += len(parsed.questions)
                if not parsed.questions and len(report.failed_samples) < SAMPLES_KEPT:
                    report.failed_samples.append(text.strip()[:SAMPLE_CHARS] or "(empty output)")
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
            if abort_after_empty_calls is not None and report.parsed == 0 and report.calls >= abort_after_empty_calls:
                raise DataError(
                    f"generator {generator!r} wrote no usable question in its first {report.calls} calls; "
                    f"{_reasons(report, skipped)}; {_samples(report)}")
    finally:
        bar.close()
        if checkpoint is not None:
            checkpoint.close()

    questions = [q for s in specs for q in kept[s.name]]
    report.kept = len(questions)
    report.skipped = dict(sorted(skipped.items()))
    report.per_subject = {s.name: len(kept[s.name]) for s in specs}
    report.shortfall = {s.name: n_per_subject - len(kept[s.name]) for s in specs if len(kept[s.name]) < n_per_subject}
    asked = n_per_subject * len(specs)
    if len(questions) < min_kept_fraction * asked:
        raise DataError(
            f"generator {generator!r} gave {len(questions)} usable questions of the {asked} asked for "
            f"({len(questions) / asked:.0%}; at least {min_kept_fraction:.0%} needed) in {report.calls} calls; "
            f"shortfall per subject: {report.shortfall}; {_reasons(report, skipped)}; {_samples(report)}")
    return questions, report
