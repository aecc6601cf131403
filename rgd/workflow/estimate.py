"""The label-free accuracy estimate as a stage: held-out questions, the truth estimator, the estimate itself.

:func:`held_out_truth` is the ONE place the estimate's truth estimator is called (today :func:`rgd.truth.estimate_truth`, or
with ``estimator="consensus"`` the paper's vote of :func:`rgd.workflow.curate.build_consensus`; swap it here
and every estimate follows). :func:`holdout_split` keeps a seeded share of the filtered generated questions out of training;
:func:`estimate_set_id` names the questions and pool an estimate was made on, so that the promotion gate
compares two estimates only when they were made on the same held-out questions answered by the same pool.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.estimate import AccuracyEstimate, check_pool, estimate_routers, hide_keys
from rgd.routers.base import Router
from rgd.truth import estimate_truth, judged_by_others, key_is_arbiter
from rgd.workflow.curate import build_consensus


@dataclass(frozen=True)
class HeldOutTruth:
    """What the truth estimator says of the estimated questions: the posterior over each question's options
    (Q, O), and each pool model's answer scored by the posterior without that model's votes (M, Q; None for
    the paper's vote, which has no voter model to leave one out of)."""

    posterior: np.ndarray
    judged: np.ndarray | None
    #: given the generator's keys: whether the estimator rates them at least as reliable as the pool's runner-up
    #: (:func:`rgd.truth.key_is_arbiter`, the router's own rule): only then may their reading overrule a gain
    keys_arbiter: bool | None = None


def held_out_truth(train_table: ResponseTable, table: ResponseTable, *, keys: np.ndarray | None = None,
                   seed: int = 0, **params: Any) -> HeldOutTruth:
    """The truth estimator on ``table``'s questions, from the pool's answers alone.

    The estimator (:func:`rgd.truth.estimate_truth`, or ``estimator="consensus"``: the paper's vote) sees the
    training and ``table``'s answers; neither table's keys are handed to it. Other ``params`` go to the
    consensus (``n_voters``, ``voter_scope``, ...). ``keys``: the generator's own answers to ``table``'s
    questions, judged (not used in the posterior) by a second fit in which they are one more voter."""
    check_pool(table)
    if tuple(train_table.models) != tuple(table.models):
        raise ParameterError(f"the estimator is fitted on pool {list(train_table.models)}, the estimate's pool is "
                             f"{list(table.models)}")
    if params.pop("estimator", "truth") == "consensus":  # the paper's confidence-weighted vote
        scorer, _ = build_consensus(hide_keys(train_table), seed=seed, **params)
        return HeldOutTruth(scorer.score(hide_keys(table)).posterior, None)
    # the product's estimator (rgd.truth, the one the default router learns from), fitted on the training and
    # the estimated questions together: their answers only, no key
    both = [train_table, table]
    choices = np.concatenate([t.choices for t in both], axis=1)
    n_options = np.concatenate([t.n_options for t in both])
    subjects = np.concatenate([np.asarray(t.subjects) for t in both])
    conf = np.concatenate([t.confidence for t in both], axis=1) if table.has_confidence else None
    est = estimate_truth(choices, n_options, confidence=conf, subjects=subjects)
    held = slice(train_table.n_questions, None)
    arbiter = None
    if keys is not None:
        all_keys = np.concatenate([np.full(train_table.n_questions, -1), np.asarray(keys)])
        judge = estimate_truth(choices, n_options, confidence=conf, key=all_keys, subjects=subjects)
        arbiter = key_is_arbiter(judge, questions=all_keys >= 0)  # judged where the generator answered
    return HeldOutTruth(est.posterior[held], judged_by_others(est, choices, n_options, conf, subjects=subjects)[:, held],
                        arbiter)


def truth_posterior(train_table: ResponseTable, table: ResponseTable, *, seed: int = 0,
                    **params: Any) -> np.ndarray:
    """(Q, O) posterior over the options of each of ``table``'s questions (:func:`held_out_truth`)."""
    return held_out_truth(train_table, table, seed=seed, **params).posterior


def label_free_estimate(routers: Mapping[str, Router], train_table: ResponseTable, table: ResponseTable,
                        embeddings: np.ndarray, *, z: np.ndarray | None = None, seed: int = 0,
                        estimator_params: Mapping[str, Any] | None = None, keys: np.ndarray | None = None,
                        truth: HeldOutTruth | None = None) -> dict[str, AccuracyEstimate]:
    """Estimated top-1 / top-3 vote of every router on ``table``'s questions (no keys read), with the
    judged-by-others reading and, given ``keys`` (the generator's own answers to these generated questions,
    never a labelled test set's), the keys reading (:mod:`rgd.evaluation.estimate`).

    ``z``: the z-scored confidences the top-3 vote breaks ties with (the evaluation's, so the estimate
    scores the same vote the labelled evaluation does). ``truth``: :func:`held_out_truth`'s answer when the
    caller already has it."""
    if truth is None:
        truth = held_out_truth(train_table, table, keys=keys, seed=seed, **dict(estimator_params or {}))
    return estimate_routers(routers, table, embeddings, truth.posterior, z, judged=truth.judged, keys=keys)


def estimate_set_id(questions_key: str, models: Sequence[str]) -> str:
    """A short id of the questions an estimate was made on (``questions_key``: their content hash, or their
    ids joined) and of the pool that answered them."""
    h = hashlib.sha256(questions_key.encode("utf-8"))
    h.update(b"\n--pool--\n" + "\n".join(models).encode("utf-8"))
    return f"sha256:{h.hexdigest()[:16]}"


def holdout_rank(question_id: str, seed: int) -> bytes:
    """A question's place in the held-out order of :func:`holdout_split`: the sha256 of the seed and its id."""
    return hashlib.sha256(f"{seed}|{question_id}".encode()).digest()


def holdout_split(ids: Sequence[str], subjects: Sequence[str], fraction: float, seed: int
                  ) -> tuple[list[int], list[int]]:
    """(train positions, held-out positions): a seeded ``fraction`` of each subject's questions is held out
    (rounded; at least one of a subject with two or more questions when ``fraction`` > 0; never all of one).

    Which ones: those whose seeded hash of their id (:func:`holdout_rank`) is lowest, question by question, not
    drawn from the set as a whole. So a question's fate hardly depends on which other questions are in the set:
    when the pool changes and the filter keeps a slightly different set, the held-out questions stay nearly the
    same, and a new version's held-out questions were (nearly all) held out from the champion's training too --
    the champion measured again on them (a pool change, :mod:`rgd.workflow.pool_change`) is measured out of
    sample."""
    if not 0 <= fraction < 1:
        raise ParameterError(f"the held-out fraction must be in [0, 1), got {fraction}")
    held: list[int] = []
    subjects = np.asarray(subjects)
    for s in sorted(set(subjects.tolist())):
        pos = np.flatnonzero(subjects == s)
        if fraction == 0 or len(pos) < 2:
            continue
        # the order of a subject's questions follows the seed and each one's id, not the input order
        order = sorted(pos.tolist(), key=lambda i: (holdout_rank(ids[i], seed), ids[i]))
        n = min(len(pos) - 1, max(1, int(round(fraction * len(pos)))))
        held += order[:n]
    held_set = set(held)
    return [i for i in range(len(ids)) if i not in held_set], sorted(held)


def holdout_stage(kept, table: ResponseTable, fraction: float, seed: int = 0):
    """Split the filtered questions (a QuestionSet) and the pool's answers to them into the training share and
    the held-out share (``fraction``: the run's ``evaluation.holdout_fraction``; seeded by ``seed``)."""
    if tuple(kept.ids) != tuple(table.question_ids):
        raise ParameterError("the filtered questions and the pool's answers are not aligned")
    train_pos, held_pos = holdout_split(kept.ids, [q.subject for q in kept.questions],
                                        fraction, seed)
    if fraction > 0 and not held_pos:
        raise ParameterError(f"evaluation.holdout_fraction {fraction} holds out no "
                             f"question of the {len(kept)} the filter kept (a subject needs two or more); "
                             "generate more questions")
    per_subject = Counter(kept.questions[i].subject for i in train_pos)
    if held_pos and max(per_subject.values(), default=0) < 2:
        # the router compares routings on halves of each subject's training questions: one each leaves nothing
        raise ParameterError(f"evaluation.holdout_fraction {fraction} leaves "
                             f"{len(train_pos)} training question(s) of the {len(kept)} the filter kept, at most "
                             "one per subject (the router needs two or more in a subject): lower "
                             "evaluation.holdout_fraction or generate more questions")
    train_q = kept.subset([kept.ids[i] for i in train_pos], role="filtered")
    held_q = kept.subset([kept.ids[i] for i in held_pos], role="holdout")
    return train_q, table.take(train_pos), held_q, table.take(held_pos)
