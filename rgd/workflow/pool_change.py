"""The champion measured again on a challenger's questions with the challenger's pool (a pool change).

:func:`remeasure_champion` embeds the challenger's held-out questions (and its labelled test questions, where the
run has them) with the champion's own embedder, ranks them with the champion's router, re-routes its choices
of models that left the pool (:func:`rgd.evaluation.pool_change.reroute`) and scores the result exactly as the
challenger's own evaluation scored the challenger: the label-free estimate from the same truth estimator on the
same held-out questions and answers (:func:`rgd.workflow.evaluate.estimate_block`'s inputs), and, for reporting
and a labelled gate only, the accuracy on the same labelled test set. The promotion gate then compares the two
on the challenger's set (:mod:`rgd.tracking.pool_change`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError
from rgd.evaluation.estimate import ESTIMATED_PREFIX, estimate_ranks
from rgd.evaluation.metrics import evaluate_ranks
from rgd.evaluation.pool_change import PoolChange, pool_change, reroute
from rgd.workflow.artifacts import QuestionSet
from rgd.workflow.estimate import held_out_truth
from rgd.workflow.training_data import TrainingData


@dataclass(frozen=True)
class Remeasure:
    """The champion in the challenger's pool: the change, whether it can serve the pool, the share of its first
    choices that were re-routed, and its metrics on the challenger's sets (the run's metric names: ``top1``,
    ``estimated_top1``, ``estimated_top1_keys`` ...; empty when it cannot serve the pool)."""

    change: PoolChange
    rerouted_share: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    #: what the estimate was made on: "holdout" or "test" (keys hidden), as the challenger's own
    estimate_on: str | None = None

    @property
    def servable(self) -> bool:
        return self.change.servable

    @property
    def case(self) -> str:
        return self.change.case(self.rerouted_share or 0.0)

    def describe(self) -> str:
        return self.change.describe(self.rerouted_share)


def _embed(bundle: Any, questions: QuestionSet) -> np.ndarray:
    from rgd.embedding import embed_questions
    from rgd.home import embedding_cache_dir

    return embed_questions(bundle.embedder, questions.texts, embedding_cache_dir())


def remeasure_champion(bundle: Any, train: TrainingData, *, holdout: QuestionSet | None = None,
                       holdout_table: ResponseTable | None = None, test: QuestionSet | None = None,
                       test_table: ResponseTable | None = None, seed: int = 0) -> Remeasure:
    """The champion ``bundle`` (a :class:`~rgd.routers.bundle.RouterBundle`) measured on the challenger's data:
    ``train`` (its training set: the truth estimator's other questions and the vote's confidences), its held-out
    questions and the pool's answers to them, and its labelled test set (``test``/``test_table``; None or empty
    without one). The estimate is made where the challenger's was: on the held-out questions when there are
    some, else on the test set with its keys hidden."""
    change = pool_change(bundle.models, train.table.models)
    if not change.servable:
        return Remeasure(change)
    has_holdout = holdout_table is not None and holdout_table.n_questions > 0
    has_test = test_table is not None and test_table.n_questions > 0
    if not (has_holdout or has_test):
        raise ParameterError("the champion can be measured again only on the challenger's held-out questions or "
                             "labelled test set, and the run has neither")
    metrics: dict[str, float] = {}
    rerouted = None
    scorer = train.consensus.scorer
    if has_test:
        if test is None or tuple(test.ids) != test_table.question_ids:
            raise ParameterError("the test questions and the pool's answers to them are not aligned")
        ranks, first_removed = reroute(bundle.router.rank(_embed(bundle, test)), change)
        if test_table.has_answers:  # labelled: reporting, and a gate on a labelled metric
            result = evaluate_ranks(ranks, test_table, scorer.zscores(test_table))
            metrics.update(top1=result.top1, top3_vote=result.top3_vote)
        rerouted = float(first_removed.mean())
    on, table, questions = ("holdout", holdout_table, holdout) if has_holdout else ("test", test_table, test)
    if questions is None or tuple(questions.ids) != table.question_ids:
        raise ParameterError("the estimated questions and the pool's answers to them are not aligned")
    # the challenger's own estimate's inputs (rgd.workflow.evaluate.estimate_block): the same truth, the same keys
    keys = table.answers if on == "holdout" and train.generator_keys is not None else None
    truth = held_out_truth(train.table, table, keys=keys, seed=seed)
    ranks, first_removed = reroute(bundle.router.rank(_embed(bundle, questions)), change)
    estimate = estimate_ranks(ranks, table, truth.posterior, scorer.zscores(table), judged=truth.judged, keys=keys)
    metrics.update({ESTIMATED_PREFIX + k: v for k, v in estimate.to_dict().items() if k != "uncertain"})
    if on == "holdout" or rerouted is None:
        rerouted = float(first_removed.mean())
    return Remeasure(change, rerouted, metrics, on)
