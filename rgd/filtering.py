"""Filtering generated questions by the two properties of good generated data.

(a) **Self-consistency**: the generator stands by its own key. Asked its own question again (one or more
    samples), it picks the key at least ``min_self_consistency`` of the time; with a pool, the key can
    also be required to equal the pool's consensus majority (``require_consensus_agreement``).
(b) **Separation**: the question tells pool models apart. The normalised entropy of the pool's answers
    (0: everyone picked the same option, 1: answers spread evenly over all options) is at least
    ``min_answer_entropy``; optionally the standard deviation of the pool's consensus scores is at least
    ``min_score_std``; and at least ``min_pool_correct`` models pick the key while at least
    ``min_pool_wrong`` do not (not everyone right, not everyone wrong).

Every threshold set to ``None`` (or 0 for the counts) switches its check off. All the arithmetic runs
on the response arrays at once; the report lists every dropped question with the checks it failed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rgd.consensus import ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.data.schema import Question, Response
from rgd.errors import DataError

CHECKS = (
    "no_key",
    "self_consistency",
    "consensus_disagrees",
    "low_answer_entropy",
    "low_score_spread",
    "too_hard",
    "too_easy",
)


class FilterConfig(BaseModel):
    """Thresholds of the filter (``None`` switches a check off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_self_consistency: float | None = Field(0.5, ge=0, le=1, description="share of the generator's re-answers equal to its key")
    require_consensus_agreement: bool = Field(True, description="the key must be the pool's consensus majority")
    min_answer_entropy: float | None = Field(0.1, ge=0, le=1, description="normalised entropy of the pool's answers")
    min_score_std: float | None = Field(None, ge=0, description="std of the pool's consensus scores")
    min_pool_correct: int = Field(1, ge=0, description="pool models that must pick the key")
    min_pool_wrong: int = Field(1, ge=0, description="pool models that must not pick the key")


class DroppedQuestion(BaseModel):
    id: str
    subject: str
    reasons: list[str]


class FilterReport(BaseModel):
    """What the filter dropped and why (JSON-able: ``report.model_dump_json()``)."""

    config: FilterConfig
    n_input: int
    n_kept: int
    n_dropped: int
    checks_applied: list[str]
    checks_skipped: dict[str, str] = Field(default_factory=dict, description="check -> why it was not run")
    failures: dict[str, int] = Field(default_factory=dict, description="questions failing each check")
    per_subject: dict[str, dict[str, int]] = Field(default_factory=dict, description="subject -> input/kept")
    metric_means: dict[str, float] = Field(default_factory=dict, description="mean of each metric over the input")
    dropped: list[DroppedQuestion] = Field(default_factory=list)


def answer_entropy(choices: np.ndarray, n_options: np.ndarray) -> np.ndarray:
    """(Q,) entropy of each column's answer distribution divided by log(n_options); unanswered ignored."""
    m, q = choices.shape
    width = max(int(n_options.max()) if q else 1, 1)
    counts = np.zeros((q, width), dtype=np.float64)
    answered = choices >= 0
    cols = np.broadcast_to(np.arange(q), choices.shape)
    np.add.at(counts, (cols[answered], choices[answered].astype(np.int64)), 1.0)
    total = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    norm = np.log(np.maximum(n_options.astype(np.float64), 2.0))
    return np.where(n_options > 1, h / norm, 0.0)


def _generator_rows(
    generator: ResponseTable | Sequence[Response] | str | None,
    questions: Sequence[Question],
    pool: ResponseTable | None,
) -> ResponseTable | None:
    if generator is None:
        return None
    if isinstance(generator, str):
        if pool is None or generator not in pool.models:
            raise DataError(f"generator {generator!r} is not a model of the pool table, so it has no re-answers")
        return pool.select_models([generator])
    if not isinstance(generator, ResponseTable):
        return ResponseTable.from_records(questions, list(generator))
    return generator


def _aligned(table: ResponseTable, questions: Sequence[Question], what: str) -> ResponseTable:
    ids = [q.id for q in questions]
    known = set(table.question_ids)
    missing = [i for i in ids if i not in known]
    if missing:
        raise DataError(f"the {what} has no answers to {len(missing)} of the questions (first: {missing[:5]})")
    out = table.take(table.positions(ids))
    n_opt = np.array([len(q.options) for q in questions])
    if (out.n_options != n_opt).any():
        bad = ids[int(np.argmax(out.n_options != n_opt))]
        raise DataError(f"the {what} disagrees with the questions on the number of options of {bad!r}")
    return out


def filter_questions(
    questions: Sequence[Question],
    pool_table: ResponseTable | None,
    generator_table: ResponseTable | Sequence[Response] | str | None,
    config: FilterConfig | None = None,
    scorer: ConsensusScorer | None = None,
    consensus_temperature: float = 1.0,
) -> tuple[list[Question], ResponseTable | None, FilterReport]:
    """Keep the questions that pass every applicable check.

    ``pool_table`` holds the pool's answers (any superset of the questions, any order); ``generator_table``
    the generator's own re-answers, one row per sample (a ResponseTable, a list of Responses, or the name
    of the generator's row in the pool table). ``scorer`` is a fitted ConsensusScorer for the pool; by
    default one is fitted on these questions (at ``consensus_temperature``, the run's
    ``consensus.temperature``). Returns the kept questions, the pool table restricted to
    them (same order), and the report.
    """
    config = config or FilterConfig()
    questions = list(questions)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise DataError("question ids must be unique")
    n_q = len(questions)
    keys = np.array([-1 if q.answer_index is None else q.answer_index for q in questions], dtype=np.int64)
    fails: dict[str, np.ndarray] = {"no_key": keys < 0}
    skipped: dict[str, str] = {}
    means: dict[str, float] = {}

    pool = _aligned(pool_table, questions, "pool table") if pool_table is not None else None
    gen = _generator_rows(generator_table, questions, pool_table)
    gen = _aligned(gen, questions, "generator table") if gen is not None else None

    # (a) self-consistency with the generator's own re-answers
    if config.min_self_consistency is None:
        skipped["self_consistency"] = "switched off (min_self_consistency is None)"
    elif gen is None:
        skipped["self_consistency"] = "no re-answers of the generator were given"
    else:
        rate = (gen.choices == keys[None, :]).mean(axis=0) if gen.n_models else np.zeros(n_q)
        fails["self_consistency"] = rate < config.min_self_consistency
        means["self_consistency"] = float(rate.mean()) if n_q else 0.0

    consensus = None
    if pool is None:
        for check in ("consensus_disagrees", "low_answer_entropy", "low_score_spread", "too_hard", "too_easy"):
            skipped[check] = "no pool table was given"
    else:
        if config.require_consensus_agreement or config.min_score_std is not None:
            if scorer is None:
                scorer = ConsensusScorer(temperature=consensus_temperature).fit(pool)
            consensus = scorer.score(pool)
        if config.require_consensus_agreement:
            fails["consensus_disagrees"] = consensus.majority.astype(np.int64) != keys
            means["consensus_agreement"] = float((~fails["consensus_disagrees"]).mean()) if n_q else 0.0
        else:
            skipped["consensus_disagrees"] = "switched off (require_consensus_agreement is false)"
        # (b) separation of the pool
        entropy = answer_entropy(pool.choices, pool.n_options)
        means["answer_entropy"] = float(entropy.mean()) if n_q else 0.0
        if config.min_answer_entropy is None:
            skipped["low_answer_entropy"] = "switched off (min_answer_entropy is None)"
        else:
            fails["low_answer_entropy"] = entropy < config.min_answer_entropy
        if config.min_score_std is None:
            skipped["low_score_spread"] = "switched off (min_score_std is None)"
        else:
            spread = consensus.scores.std(axis=0)
            fails["low_score_spread"] = spread < config.min_score_std
            means["score_std"] = float(spread.mean()) if n_q else 0.0
        n_correct = (pool.choices == keys[None, :]).sum(axis=0)
        means["pool_key_rate"] = float((n_correct / max(pool.n_models, 1)).mean()) if n_q else 0.0
        if config.min_pool_correct > 0:
            fails["too_hard"] = n_correct < config.min_pool_correct
        else:
            skipped["too_hard"] = "switched off (min_pool_correct is 0)"
        if config.min_pool_wrong > 0:
            fails["too_easy"] = (pool.n_models - n_correct) < config.min_pool_wrong
        else:
            skipped["too_easy"] = "switched off (min_pool_wrong is 0)"

    applied = [c for c in CHECKS if c in fails]
    matrix = np.stack([fails[c] for c in applied]) if n_q else np.zeros((len(applied), 0), dtype=bool)
    dropped_mask = matrix.any(axis=0)
    keep = np.flatnonzero(~dropped_mask)

    subjects = np.array([q.subject for q in questions], dtype=object)
    per_subject = {}
    for s in dict.fromkeys(subjects.tolist()):
        in_s = subjects == s
        per_subject[s] = {"input": int(in_s.sum()), "kept": int((in_s & ~dropped_mask).sum())}
    dropped = [
        DroppedQuestion(id=ids[i], subject=questions[i].subject, reasons=[applied[c] for c in np.flatnonzero(matrix[:, i])])
        for i in np.flatnonzero(dropped_mask)
    ]
    report = FilterReport(
        config=config,
        n_input=n_q,
        n_kept=int(keep.size),
        n_dropped=int(dropped_mask.sum()),
        checks_applied=applied,
        checks_skipped=skipped,
        failures={c: int(fails[c].sum()) for c in applied},
        per_subject=per_subject,
        metric_means=means,
        dropped=dropped,
    )
    kept_questions = [questions[i] for i in keep]
    kept_table = pool.take(keep) if pool is not None else None
    return kept_questions, kept_table, report
