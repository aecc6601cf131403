"""Live label-free monitoring: what the shadowed requests say of the routed choice, per skill cluster.

The gateway counts every routed request in its skill cluster (:func:`rgd.routers.skill_clusters.skill_clusters`)
and whether it was out of distribution (:meth:`rgd.routers.bundle.RouterBundle.out_of_distribution`). A sampled
share of the top-1 requests is also answered, in shadow, by the next models of the ranking
(:mod:`rgd.serving.shadow`); each such request becomes an :class:`Observation`: per model that answered, the
option it chose. No text is kept: an answer is its option letter (the extraction of the gateway's consensus,
:func:`rgd.serving.voting.answer_of`), a free-text answer to a question without options is compared normalised
(:func:`answer_key`), and only which answers were equal is kept.

From the last ``window`` observations :func:`estimate` gives, per cluster and for all of them:

- ``agreement``: the share of shadow answers equal to the routed model's (the routed model unanswered: none);
- ``majority_agreement``: the share of requests where the routed answer is the strict plurality of all answers;
- ``estimated_accuracy``: the estimated probability that the routed answer is right. With at least
  ``min_requests`` observations it is the training's label-free estimate (:func:`rgd.truth.estimate_truth_restarts`
  on the (models x requests) answer matrix, the clusters as its groups, each voter an ability per cluster): the
  mean posterior of the routed model's option. It is fitted with the one-coin model (:data:`TRUTH_MODEL`: ability
  only), not training's item-response model: a shadowed request has only k + 1 answers, too few to fit its own
  difficulty, and measured on simulated answers (tests/rgd/serving/test_monitor_estimate.py's pool: routed model
  right 87% of the time, two shadows 60%) the item-response fit put the routed choice at 0.97, the one-coin fit
  at 0.88. Below that, or when the estimate cannot be made, ``majority_agreement`` stands in; ``estimator`` says
  which (``truth``, ``truth_fixed`` or ``majority``).
  Where the router keeps training's voter parameters (:func:`training_voters`: ``truth_cluster``'s estimated
  P(right) per skill cluster and model, and each model's popular-distractor rate), they are held fixed
  (``truth_fixed``) for the shadows, and only the routed model's P(right) in each cluster is re-estimated from
  the window (:func:`_routed_refit`), instead of refitting every voter on k + 1 answers a request. Measured on the
  MMLU-Pro pack's recorded answers (benchmarks/monitor_recorded.py, k = 2, every test question): the refit put
  the routed choice 17.5 points above its true accuracy, this 16.3 (every parameter held fixed, the first
  version: 14.4); with the routed model replaced by the pool's weakest its estimate fell to 0.33-0.54 (the
  refit's 0.30-0.56, every parameter fixed 0.35-0.54), and the drift test fired in the same draws. Holding the
  routed model's parameter fixed too kept trusting a replaced model (simulated, tests/rgd/serving/
  test_monitor_estimate.py: 0.85 trusted, 0.40 true, 0.73 estimated; re-estimated: 0.42).

:class:`MonitorState` is one router version's: the clusters of another version mean other things, so a swap starts
a new state. It is used from the event loop only; :func:`estimate` runs in another process, on a copy.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from rgd.data.schema import LETTERS
from rgd.errors import RGDError
from rgd.serving.drift import Alarm, PluralityCusum
from rgd.serving.voting import n_options as options_of
from rgd.serving.voting import reply_text

log = logging.getLogger(__name__)

_WORDS = re.compile(r"\w+")
#: estimators of the routed choice's accuracy, best first
TRUTH, TRUTH_FIXED, MAJORITY = "truth", "truth_fixed", "majority"
#: the truth estimate's voter model on shadowed requests (see the module's docstring)
TRUTH_MODEL = "onecoin"
#: with training's voter parameters: EM steps on the routed models' P(right), and the pseudo-requests of
#: training's value in it (see :func:`_routed_refit`)
ROUTED_EM_ITERATIONS = 10
ROUTED_PRIOR_REQUESTS = 10


@dataclass(frozen=True)
class TrainingVoters:
    """Training's label-free voter parameters, held fixed in the monitor's estimate: per skill cluster and pool
    model the estimated P(right) (``accuracy``, (clusters, models)), and per model the rate at which a wrong answer
    is the question's popular distractor (``rho``, (models,); None: wrong answers spread uniformly)."""

    accuracy: np.ndarray
    rho: np.ndarray | None = None

    def fixed(self, clusters: np.ndarray, voters: np.ndarray) -> dict[str, Any]:
        """The ``fixed`` parameters of :func:`rgd.truth.estimate_truth` for these clusters (the distinct ones, in
        sorted order, as it numbers its groups) and voters (model indices): ability 0, each cluster's offset the
        logit of the training P(right)."""
        p = np.clip(self.accuracy[np.ix_(clusters, voters)].T, 1e-3, 1 - 1e-3)
        rho = None if self.rho is None else np.repeat(self.rho[voters][:, None], len(clusters), axis=1)
        zeros = np.zeros(len(voters))
        return {"theta": zeros, "delta": np.log(p / (1 - p)), "beta": zeros, "rho": rho}


def training_voters(router: Any) -> TrainingVoters | None:
    """The voter parameters of a fitted router's training estimate, where it keeps them: ``truth_cluster``'s
    per-cluster estimated P(right) (``cluster_scores_``, one row per skill cluster of
    :func:`rgd.routers.skill_clusters.skill_clusters`) and its distractor rates (``voter_rho_``; absent from a
    bundle written before it was kept: uniform errors). None for any other router (the monitor refits)."""
    from rgd.routers.truth_cluster import TruthClusterRouter

    table = getattr(router, "cluster_scores_", None)
    if not isinstance(router, TruthClusterRouter) or table is None:
        return None
    rho = getattr(router, "voter_rho_", None)
    return TrainingVoters(np.asarray(table, dtype=np.float64), None if rho is None else np.asarray(rho, np.float64))


def answer_key(text: str | None, question_options: int) -> str | None:
    """What a reply answers: its option letter (the extraction of the gateway's consensus,
    :func:`rgd.llm.extraction.extract_choice`); for a question that lists no options and a reply that names none,
    its words lower-cased and joined by one space; None for no answer."""
    from rgd.llm.extraction import extract_choice

    letter = extract_choice(text, question_options)
    if letter is not None or question_options < len(LETTERS) or not text:
        return letter
    words = _WORDS.findall(text.lower())
    return " ".join(words) if words else None


@dataclass(frozen=True)
class Observation:
    """One shadowed request: its cluster, the number of options, and per model (index into the state's models)
    the option it chose (-1: no answer); ``routed`` is the model that answered the user (index)."""

    cluster: int
    n_options: int
    routed: int
    choices: tuple[tuple[int, int], ...]


def observation(cluster: int, question: str, models: Sequence[str], routed: str,
                replies: dict[str, dict[str, Any] | None]) -> Observation:
    """The :class:`Observation` of one request from its replies' JSON bodies (None: the call failed); the question
    and the replies' text are read here and not kept."""
    n = options_of(question)
    keys = {m: (answer_key(reply_text(body), n) if body is not None else None) for m, body in replies.items()}
    if n < len(LETTERS):
        index = {k: LETTERS.index(k) for k in keys.values() if k is not None}
        n_opts = n
    else:  # no options listed: the distinct answers (letters or words) are the options, the routed one first
        distinct = list(dict.fromkeys([keys.get(routed)] + list(keys.values())))
        index = {k: i for i, k in enumerate([d for d in distinct if d is not None])}
        n_opts = max(2, len(index))
    position = {m: i for i, m in enumerate(models)}
    choices = tuple((position[m], index[k] if k is not None else -1) for m, k in keys.items() if m in position)
    return Observation(cluster, n_opts, position[routed], choices)


@dataclass
class ClusterEstimate:
    cluster: int
    shadowed: int
    agreement: float | None
    majority_agreement: float | None
    estimated_accuracy: float | None


@dataclass
class Estimate:
    """What :func:`estimate` found on a window of observations (``clusters``: per cluster with any)."""

    estimator: str
    shadowed: int
    overall: ClusterEstimate
    clusters: dict[int, ClusterEstimate]
    computed_at: float = field(default_factory=time.time)
    error: str | None = None
    per_request: np.ndarray | None = None  # each observation's estimated accuracy of the routed answer
    per_request_majority: np.ndarray | None = None  # each observation's 1/0: the routed answer the strict plurality


def plurality(o: Observation) -> bool:
    """Whether the routed answer is the strict plurality of the request's answers (no answer: not)."""
    mine = dict(o.choices).get(o.routed, -1)
    if mine < 0:
        return False
    counts: dict[int, int] = {}
    for _, c in o.choices:
        if c >= 0:
            counts[c] = counts.get(c, 0) + 1
    return counts[mine] > max((v for k, v in counts.items() if k != mine), default=0)


def _rates(obs: list[Observation]) -> tuple[np.ndarray, np.ndarray]:
    """Per observation: the share of the other answers equal to the routed one (NaN without any), and whether the
    routed answer is the strict plurality."""
    agree = np.full(len(obs), np.nan)
    major = np.zeros(len(obs))
    for i, o in enumerate(obs):
        mine = dict(o.choices).get(o.routed, -1)
        others = [c for m, c in o.choices if m != o.routed and c >= 0]
        if mine >= 0 and others:
            agree[i] = sum(c == mine for c in others) / len(others)
        elif others:
            agree[i] = 0.0
        major[i] = float(plurality(o))
    return agree, major


def _truth_accuracy(obs: list[Observation], n_models: int, seed: int,
                    voters: TrainingVoters | None = None) -> np.ndarray:
    """Per observation: the posterior of the routed model's option under the label-free truth estimate (refitted,
    or with ``voters`` held fixed but the routed models': :func:`_routed_refit`)."""
    from rgd.truth import estimate_truth_restarts

    choices = np.full((n_models, len(obs)), -1, dtype=np.int64)
    for q, o in enumerate(obs):
        for m, c in o.choices:
            choices[m, q] = c
    n_options = np.array([o.n_options for o in obs], dtype=np.int64)
    clusters = np.array([o.cluster for o in obs], dtype=np.int64)
    answered = (choices >= 0).any(axis=1)
    rows = np.flatnonzero(answered)  # voters that never answered carry nothing
    routed = np.array([dict(o.choices).get(o.routed, -1) for o in obs])
    if voters is not None:
        return _routed_refit(obs, choices, n_options, clusters, rows, routed, voters)
    est = estimate_truth_restarts(choices[rows], n_options, subjects=clusters, seed=seed, model=TRUTH_MODEL)
    return _routed_posterior(est.posterior, routed)


def _routed_posterior(posterior: np.ndarray, routed: np.ndarray) -> np.ndarray:
    p = np.take_along_axis(posterior, np.maximum(routed, 0)[:, None], axis=1)[:, 0]
    return np.where(routed >= 0, p, 0.0)


def _routed_refit(obs, choices, n_options, clusters, rows, routed, voters: TrainingVoters) -> np.ndarray:
    """The posterior of each routed answer with training's voter parameters held fixed, except, per cluster, the
    routed model's P(right): EM on it alone (:data:`ROUTED_EM_ITERATIONS` steps), the mean posterior of its answers
    over the cluster's requests it answered the user in (no answer: 0, as training's table counts it), with
    training's value as :data:`ROUTED_PRIOR_REQUESTS` pseudo-requests. The shadows' fixed
    parameters judge it, so a routed model that degrades loses the trust training gave it."""
    from rgd.truth import estimate_truth

    present = np.unique(clusters)
    table = voters.accuracy.copy()
    routed_model = np.array([o.routed for o in obs])
    cells = sorted({(int(c), int(m)) for c, m in zip(clusters, routed_model)})
    masks = {cell: (clusters == cell[0]) & (routed_model == cell[1]) for cell in cells}
    for _ in range(ROUTED_EM_ITERATIONS):
        fixed = TrainingVoters(table, voters.rho).fixed(present, rows)
        est = estimate_truth(choices[rows], n_options, subjects=clusters, model="onecoin", fixed=fixed, n_iter=1,
                             distractor=fixed["rho"] is not None)
        p = _routed_posterior(est.posterior, routed)
        for (c, m), mask in masks.items():
            table[c, m] = (p[mask].sum() + ROUTED_PRIOR_REQUESTS * voters.accuracy[c, m]) / (
                mask.sum() + ROUTED_PRIOR_REQUESTS)
    return p


def _usable(voters: TrainingVoters | None, obs: list[Observation], n_models: int) -> TrainingVoters | None:
    """``voters`` where they cover the pool and every observed cluster, else None (the estimate refits)."""
    if voters is None:
        return None
    n_clusters, n = voters.accuracy.shape
    ok = n == n_models and (voters.rho is None or len(voters.rho) == n_models)
    if not ok or any(not 0 <= o.cluster < n_clusters for o in obs):
        log.info("monitoring: training's voter parameters do not match the pool or the clusters; refitted")
        return None
    return voters


def estimate(obs: list[Observation], n_models: int, min_requests: int, seed: int = 0,
             voters: TrainingVoters | None = None) -> Estimate:
    """Per cluster and overall: agreement, majority agreement and the routed choice's estimated accuracy (see the
    module's docstring), with training's ``voters`` held fixed where given and matching. Pure: runs in the
    estimate's process."""
    agree, major = _rates(obs)
    accuracy, estimator, error = major, MAJORITY, None
    if len(obs) >= min_requests:
        try:
            voters = _usable(voters, obs, n_models)
            accuracy = _truth_accuracy(obs, n_models, seed, voters)
            estimator = TRUTH if voters is None else TRUTH_FIXED
        except (RGDError, ValueError, FloatingPointError) as exc:  # too few voters, degenerate votes
            error = f"{type(exc).__name__}: {exc}"
            log.info("monitoring: the truth estimate could not be made (%s); the majority stands in", error)
    clusters = np.array([o.cluster for o in obs], dtype=np.int64)

    def summary(cluster: int, mask: np.ndarray) -> ClusterEstimate:
        n = int(mask.sum())
        a = agree[mask]
        a = a[~np.isnan(a)]
        return ClusterEstimate(cluster, n, float(a.mean()) if len(a) else None,
                               float(major[mask].mean()) if n else None, float(accuracy[mask].mean()) if n else None)

    return Estimate(estimator, len(obs), summary(-1, np.ones(len(obs), dtype=bool)),
                    {int(c): summary(int(c), clusters == c) for c in np.unique(clusters)}, error=error,
                    per_request=np.asarray(accuracy, dtype=np.float64), per_request_majority=major)


class MonitorState:
    """One router version's counts and observations (event loop only). For drift (:mod:`rgd.serving.drift`) it
    also keeps its first ``reference_requests`` observations (the reference, beside the window), whether each
    of its first and of its last ``ood_requests`` routed requests was out of distribution and its training
    similarity, and the sequential test
    (:class:`rgd.serving.drift.PluralityCusum`) each observation is fed to as it is added."""

    def __init__(self, version: str, models: Sequence[str], window: int, reference_requests: int = 0,
                 ood_requests: int = 1, sequential: PluralityCusum | None = None) -> None:
        self.version = version
        self.models = tuple(models)
        self.started = time.time()
        self.requests: dict[int, int] = {}
        self.ood: dict[int, int] = {}
        self.coverage = False  # whether any request said whether it was out of distribution
        self.observations: deque[Observation] = deque(maxlen=window)
        self.reference_requests = reference_requests
        self.reference: list[Observation] = []
        self.ood_requests = ood_requests
        self.ood_reference = [0, 0]  # out of distribution, requests: the version's first ood_requests
        self.ood_recent: deque[bool] = deque(maxlen=ood_requests)
        self.similarity_reference: list[float] = []  # training similarities: the version's first ood_requests
        self.similarity_recent: deque[float] = deque(maxlen=ood_requests)  # ... and its last ones
        self.alarmed: dict[str, float] = {}  # alarm kind -> when it was last raised for this version
        self.retrain_started: float | None = None  # when an alarm last started the retraining command
        self.shadowed: dict[int, int] = {}  # over the state's life (the window keeps the last ones)
        self.added = 0  # observations ever added: the estimate is stale when it read fewer
        self.last: Estimate | None = None
        self.last_added = 0
        self.sequential = sequential  # the sequential drift test, fed each observation as it is added

    def count(self, cluster: int, out_of_distribution: bool | None, similarity: float | None = None) -> None:
        self.requests[cluster] = self.requests.get(cluster, 0) + 1
        if out_of_distribution is not None:
            self.coverage = True
            if out_of_distribution:
                self.ood[cluster] = self.ood.get(cluster, 0) + 1
            if self.ood_reference[1] < self.ood_requests:
                self.ood_reference[0] += bool(out_of_distribution)
                self.ood_reference[1] += 1
            self.ood_recent.append(bool(out_of_distribution))
        if similarity is not None and similarity == similarity:  # NaN: a router registered without coverage
            if len(self.similarity_reference) < self.ood_requests:
                self.similarity_reference.append(float(similarity))
            self.similarity_recent.append(float(similarity))

    def add(self, obs: Observation) -> Alarm | None:
        """Keep one observation; the sequential test's alarm, if this one raised it."""
        if len(self.reference) < self.reference_requests:
            self.reference.append(obs)
        self.observations.append(obs)
        self.shadowed[obs.cluster] = self.shadowed.get(obs.cluster, 0) + 1
        self.added += 1
        return None if self.sequential is None else self.sequential.add(plurality(obs))

    def estimate_input(self) -> list[Observation]:
        """What the estimate reads: the reference, then the window's observations that are not in it."""
        window = list(self.observations)
        first_in_window = self.added - len(window)  # the window holds observations first_in_window .. added - 1
        overlap = max(0, len(self.reference) - first_in_window)
        return self.reference + window[overlap:]

    @property
    def stale(self) -> bool:
        return self.added != self.last_added

    def ood_share(self, cluster: int | None = None) -> float | None:
        if not self.coverage:
            return None
        n = sum(self.requests.values()) if cluster is None else self.requests.get(cluster, 0)
        k = sum(self.ood.values()) if cluster is None else self.ood.get(cluster, 0)
        return k / n if n else None

    def cluster_rows(self) -> list[dict[str, Any]]:
        """Per cluster that has seen a request: its counts and the last estimate's figures."""
        found = self.last.clusters if self.last is not None else {}
        rows = []
        for c in sorted(set(self.requests) | set(self.shadowed)):
            e = found.get(c)
            rows.append({"cluster": str(c), "requests": self.requests.get(c, 0),
                         "out_of_distribution_share": self.ood_share(c), "shadowed": self.shadowed.get(c, 0),
                         "agreement": e.agreement if e else None,
                         "majority_agreement": e.majority_agreement if e else None,
                         "estimated_accuracy": e.estimated_accuracy if e else None})
        return rows
