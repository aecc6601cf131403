"""Steps 3 and 4, filter and consensus: keep the questions worth learning from; score the pool without labels.

:func:`build_consensus` is the one place a consensus is built, for the pipeline and ``evaluate-recorded``.
"""

from __future__ import annotations

from typing import Any

from rgd.config.run_config import ConsensusSpec
from rgd.consensus import ConsensusResult, ConsensusScorer
from rgd.data.response_table import ResponseTable
from rgd.errors import DataError
from rgd.filtering import FilterConfig, FilterReport, filter_questions
from rgd.workflow.artifacts import ConsensusArtifact, QuestionSet

#: the filter setting behind each check (what to loosen)
CHECK_SETTINGS = {"self_consistency": "min_self_consistency", "consensus_disagrees": "require_consensus_agreement",
                  "low_answer_entropy": "min_answer_entropy", "low_score_spread": "min_score_std",
                  "too_hard": "min_pool_correct", "too_easy": "min_pool_wrong"}


def explain_filter(report: FilterReport) -> str:
    """Which check removed how many questions (and how many it removed alone), with its setting."""
    alone: dict[str, int] = {}
    for d in report.dropped:
        if len(d.reasons) == 1:
            alone[d.reasons[0]] = alone.get(d.reasons[0], 0) + 1
    lines = []
    for check, n in report.failures.items():
        setting = CHECK_SETTINGS.get(check)
        name = f"{check} ({setting}={getattr(report.config, setting)})" if setting else check
        lines.append(f"{name}: {n} failed, {alone.get(check, 0)} by this check alone")
    lines += [f"{check}: not run ({why})" for check, why in report.checks_skipped.items()]
    return "; ".join(lines)


def filter_stage(settings: FilterConfig, generated: QuestionSet, pool_table: ResponseTable,
                 self_answers: ResponseTable | None, *, consensus_temperature: float = 1.0,
                 ) -> tuple[QuestionSet, ResponseTable, FilterReport]:
    """The generated questions the filter keeps (``settings``: the run's ``filter`` section; the agreement
    check's consensus at ``consensus_temperature``, the run's ``consensus.temperature``)."""
    if not len(generated):
        raise DataError("no generated questions reached the filter: the generators wrote none (see the "
                        "generate_questions report)")
    kept, kept_table, report = filter_questions(list(generated.questions), pool_table, self_answers, settings,
                                                consensus_temperature=consensus_temperature)
    if not kept:
        raise DataError(f"the filter dropped all {report.n_input} generated questions; by check: "
                        f"{explain_filter(report)}. Loosen those settings (filter: ...) or use a better generator")
    qset = generated.subset([q.id for q in kept], role="filtered")
    return qset, kept_table, report


def build_consensus(table: ResponseTable, *, seed: int = 0, temperature: float = 1.0,
                    **params: Any) -> tuple[ConsensusScorer, ConsensusResult]:
    """Fit the consensus scorer on a pool's training answers and score them (no labels involved)."""
    scorer = ConsensusScorer(temperature=temperature, seed=seed, **params).fit(table)
    return scorer, scorer.score(table)


def consensus_stage(spec: ConsensusSpec, table: ResponseTable, seed: int = 0) -> ConsensusArtifact:
    """The consensus of the run's ``consensus`` section, fitted on the pool's training answers."""
    scorer, result = build_consensus(table, seed=seed, **spec.model_dump())
    return ConsensusArtifact(scorer, result, table.question_ids)
