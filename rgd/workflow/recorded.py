"""Train every router on a recorded pool's train split and evaluate on its test split.

This is what ``rgd evaluate-recorded`` runs; it works on any directory in the recorded-responses format. It
runs the recorded pipeline's stages (consensus, embeddings, the one training set, the routers) in one process
and writes the pipeline's evaluation report (:func:`rgd.workflow.evaluate.evaluate_stage`), with a ``run``
block of what only it knows (its inputs, the label noise, its timings).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from rgd.data.keys import load_generator_keys
from rgd.data.recorded import RecordedDataset, load_recorded
from rgd.data.response_table import ResponseTable
from rgd.errors import DataError, ParameterError
from rgd.evaluation.label_noise import corrupt_keys
from rgd.routers.cost import load_costs
from rgd.routers.registry import DEFAULT_ROUTER
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, RouterSet
from rgd.workflow.curate import build_consensus
from rgd.workflow.evaluate import evaluate_stage
from rgd.workflow.train import fit_routers
from rgd.workflow.training_data import TrainingData

log = logging.getLogger(__name__)

ALL_ROUTERS = (DEFAULT_ROUTER, "cascal", "cascal_gt", "knn", "mlp", "best_single", "random")
EmbedFn = Callable[[Sequence[str], Sequence[str]], tuple[np.ndarray, np.ndarray]]


def embed_with(kind: str, cache_dir: str | Path | None = None, **params: Any) -> EmbedFn:
    """An embedding function (train texts, test texts) -> (train, test) for the named embedder (``params``: its
    parameters, as in the run config's ``embedder.params``)."""
    from rgd.embedding import fit_and_embed

    def run(train_texts: Sequence[str], test_texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        _, train_x, test_x = fit_and_embed(kind, train_texts, test_texts, cache_dir, **params)
        return train_x, test_x

    return run


def training_data(train_table: ResponseTable, train_x: np.ndarray, embedder_name: str = "", *, seed: int = 0,
                  consensus_params: dict[str, Any] | None = None, generated: bool = False) -> TrainingData:
    """The one training set of a recorded pool's train split (its answers, embeddings ``train_x``, consensus):
    what :func:`run_recorded` fits every router on, and ``rgd check`` the product's router."""
    scorer, consensus = build_consensus(train_table, seed=seed, **(consensus_params or {}))
    return TrainingData.build(train_table, EmbeddingMatrix(train_table.question_ids, train_x, embedder_name,
                                                           embedder_name),
                              ConsensusArtifact(scorer, consensus, train_table.question_ids), generated=generated)


def run_recorded(
    data: RecordedDataset | str | Path,
    embed: EmbedFn,
    *,
    label_noise: float = 0.0,
    noise_kind: str = "plausible",
    seed: int = 0,
    routers: Sequence[str] = ALL_ROUTERS,
    router_params: dict[str, dict[str, Any]] | None = None,
    consensus_params: dict[str, Any] | None = None,
    embedder_name: str = "",
    keys_from: str | Path | None = None,
    costs: str | Path | Mapping[str, Any] | None = None,
    primary: str | None = None,
) -> dict[str, Any]:
    """Fit every router on the train split, evaluate on the test split; a JSON-able report.

    ``consensus_params`` go to :class:`ConsensusScorer` (e.g. ``n_voters``), ``router_params[name]`` to the
    router's constructor. ``keys_from``: a responses-format file whose answers are the training keys (a
    generator's, as in RGD); without it the label-using baselines learn from the split's true keys, as a
    reference. Label-free routers never see the true keys; they see the generator's keys as data.
    ``costs``: a costs file or ``{model: cost}`` map (:func:`rgd.routers.cost.load_costs`); with it the report
    adds the cost-accuracy curves and calibration of the pipeline's :func:`rgd.workflow.costs.cost_stage`
    (``cost``). The report is the pipeline's evaluation report (:func:`rgd.workflow.evaluate.evaluate_stage`) and
    a ``run`` block. ``primary``: the router the report is of (the run config's ``router.name``); default: the
    product's router when trained, else CASCAL, else the first.
    """
    if not isinstance(data, RecordedDataset):
        data = load_recorded(data)
    router_params = router_params or {}
    train_q, train_table = data.part("train")
    test_q, test_table = data.part("test")
    pool_costs = None if costs is None else load_costs(costs, data.table.models)  # refused before any work
    unkeyed = [q for q, a in zip(test_table.question_ids, test_table.answers.tolist()) if a < 0]
    if unkeyed:
        raise DataError(f"{len(unkeyed)} test questions have no answer key, so they cannot be scored "
                        f"(first: {unkeyed[:5]}); give them keys or move them to the train split")
    test_keys = None  # the generator's own answers to the test questions: the estimate's keys reading (data)
    if keys_from is not None:  # the training keys are then a generator's (TrainingData.build)
        train_table = train_table.with_answers(load_generator_keys(keys_from, train_table.question_ids,
                                                                   train_table.n_options,
                                                                   known_ids=data.table.question_ids))
        test_keys = load_generator_keys(keys_from, test_table.question_ids, test_table.n_options,
                                        known_ids=data.table.question_ids)

    t0 = time.perf_counter()
    train_x, test_x = embed([q.text for q in train_q], [q.text for q in test_q])
    t_embed = time.perf_counter() - t0

    t0 = time.perf_counter()
    data_set = training_data(train_table, train_x, embedder_name, seed=seed, consensus_params=consensus_params,
                             generated=keys_from is not None)
    consensus = data_set.consensus.result
    t_consensus = time.perf_counter() - t0

    if label_noise > 0:  # the label-using routers' keys only: the generator's keys stay as they were, as data
        data_set = replace(data_set, table=corrupt_keys(train_table, label_noise, noise_kind, seed))
    # fit_router hides the answers from label-free routers; the generator's keys stay visible as data
    fitted, t_train = fit_routers(routers, router_params, data_set.training_set, seed=seed)

    # the report the pipeline's evaluate step writes (rgd.workflow.evaluate.evaluate_stage), of the primary
    # router, and what only this front knows under "run"
    if primary is None:
        primary = next((n for n in (DEFAULT_ROUTER, "cascal") if n in fitted), next(iter(fitted)))
    elif primary not in fitted:
        raise ParameterError(f"the primary router {primary!r} is not among the trained routers {list(fitted)}")
    test_matrix = EmbeddingMatrix(test_table.question_ids, test_x, embedder_name, embedder_name)
    report = evaluate_stage(RouterSet(fitted, primary), test_table, test_matrix, data_set, test_keys=test_keys,
                            costs=pool_costs, router_params=router_params.get(primary), seed=seed)
    report["run"] = {
        "data": data.name,
        "embedder": embedder_name,
        "seed": seed,
        "label_noise": label_noise,
        "noise_kind": noise_kind,
        "keys_from": None if keys_from is None else str(keys_from),
        "consensus_majority_accuracy_train": float((consensus.majority == data.part("train")[1].answers).mean()),
        "timings_s": {"embed": t_embed, "consensus": t_consensus, "train": t_train},
    }
    return report
