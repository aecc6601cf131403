"""The product's router: models ranked per skill cluster by their estimated probability of being right.

Training (no answer key is read):

1. **Who is right** on each training question, from every label-free signal: the pool's votes, the
   generator's key as one more voter whose reliability is estimated, and confidences when recorded
   (:func:`rgd.truth.estimate_truth`: item-response Dawid-Skene with a popular-distractor error model, which
   copes with model families that share errors and lets a dominant model out-vote them). A key estimated
   less reliable than the pool's runner-up is dropped (:func:`rgd.truth.key_is_arbiter`): it cannot tell the
   crowd's shared errors from the truth any better than the pool does, and measured, it only moves the
   estimate around; one at least as reliable arbitrates between the first two (benchmarks/README.md).
   Models that copy each other's errors (``copy_groups``): derivatives of one base model that repeat its
   misconceptions would otherwise outvote a lone strong model. Each hangs from its source and EM fits how often
   it copies, its copied answers no evidence (:func:`rgd.truth.copy_parents`). Where the copies were seen
   through an arbitrating generator's key, models linked into a group of three or more share one vote instead
   (:func:`rgd.truth.copy_group_weights`): off the key, models right together are both wrong, so what they share
   is errors; without a key the pool's strongest models have no stronger reference, so models that are merely
   right together look linked too, and sharing one vote would hand the pool to the weak rest (the frontier
   suite: benchmarks/README.md), while the copy model can still explain their agreement by their being right.
   There the estimate in which each of the copy model's trees shares one vote is only one more EM start of the
   copy model, kept where the copy model's likelihood is higher (:data:`GROUP_START`). Each voter's ability
   varies by group: by subject, or by skill cluster within a subject (niche specialists are right in their niche
   and wrong beside it), whichever makes held-out votes more likely (``truth_grouping="auto"``,
   :meth:`TruthClusterRouter.truth_groups`; label-free).
2. **Skill clusters**: per subject, spherical k-means on the question embeddings (about ``cluster_size``
   questions a cluster). Each cluster ranks the models by their mean estimated probability of being right,
   shrunk towards the subject's and then the pool's mean (empirical Bayes: the pull ``n / (n + n0)`` has
   ``n0 = sigma^2 / tau^2`` estimated from the spread of the cluster means beyond their sampling noise), so a
   model that is better everywhere keeps the first rank unless a cluster shows a well-supported advantage
   for another, while a pool of niche specialists (a large real spread) is barely shrunk.
3. **How local to route** (``levels="auto"``): one ranking for the pool, one per subject, or per cluster of
   ~150 / 50 / 25 questions, chosen by a label-free criterion: fit on half of the training questions, score
   the other half by the estimated posterior's mass on the routed answer (top-1 and top-3 vote), both
   halves, two random splits. That criterion judges routings with the same estimated truth the router learns
   from, so a local routing that follows a local bias of the truth (a crowd that shares wrong answers in one
   subject) looks better than it is. Hence: without an anchor (a key estimated more reliable than every pool
   model) a local routing must beat the single pool-wide ranking by ``local_margin`` of estimated accuracy
   (3 points, a fixed default); with an anchor the criterion's best wins. Measured: specialist pools gain
   10-25 points locally and always pass. On random pools of the real MMLU-Pro models (benchmarks/pool_sweep.py)
   the false local gains (the crowd's shared errors lowering a strong model's per-subject ability) reached
   2.4 points and cost 3-7 points of true accuracy, while the real ones that cleared 3 points gained 0.8-2.3;
   a 2-point margin, set on the issue's two pools, let the false ones through.

Routing: a query goes to its nearest cluster centroid (one (n, K) similarity product, no per-query loop) and
gets that cluster's scores, which are estimated probabilities of being right. For the cost policy
(:meth:`correctness_scores`) the router keeps the level the criterion found best even when the margin keeps
the ranking pool-wide: one pool-wide ranking gives one probability per model, blind to where a cheap model
is as good as the dear one, and the policy's calibration on held-out questions judges the finer estimate.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Annotated, Any, Literal, get_args

import numpy as np
from threadpoolctl import threadpool_limits

from rgd.data.response_table import ResponseTable
from rgd.embedding.vectors import normalize_rows
from rgd.params import Bounds, Count, Positive, init_params
from rgd.routers.base import Router, TrainingSet
from rgd.routers.clustering import squared_norms, unit_rows, weighted_draw
from rgd.truth import (
    COPY_LINK,
    Identifiability,
    copy_excess,
    copy_group_weights,
    copy_parents,
    dependence_weights,
    estimate_truth,
    estimate_truth_restarts,
    heldout_loglik,
    identifiability,
    key_is_anchor,
    key_is_arbiter,
)

#: the name, in the estimate's ``params["start"]``, of the copy model's EM start from the estimate in which each of its
#: trees shares one vote (:meth:`TruthClusterRouter._group_start`)
GROUP_START = "copy group"

Level = Literal["auto", "global", "subject", "clusters"]
LEVELS = get_args(Level)
#: how the truth estimate groups questions for its per-group voter abilities (see ``truth_grouping``)
TruthGrouping = Literal["auto", "subject", "clusters"]
TRUTH_GROUPINGS = get_args(TruthGrouping)
#: the cluster sizes ``truth_grouping="auto"`` compares with the subjects (a fixed library list)
TRUTH_CLUSTER_SIZES = (150, 50)
#: the grouping comparison's sample and EM iterations: a bounded cost (~1 s for the three on MMLU-Pro, 2 cores)
GROUPING_SAMPLE = 2000
GROUPING_EM_ITERATIONS = 10
#: Lloyd iterations at most of the level criterion's k-means: it compares routings (the router's own fit runs 20;
#: 28% of the fit's k-means runs take more than 10 on MMLU-Pro; the fit 4% faster, benchmarks/README.md)
CRITERION_KMEANS_ITERATIONS = 10
#: the routings ``levels="auto"`` chooses from: (level, questions per cluster); a fixed library list
AUTO_CANDIDATES: tuple[tuple[str, int], ...] = (("global", 0), ("subject", 0), ("clusters", 150), ("clusters", 50),
                                                 ("clusters", 25), ("clusters", 12))


class TruthClusterRouter(Router):
    name = "truth_cluster"

    def __init__(
        self,
        *,
        levels: Level = "auto",
        cluster_size: Count = 150,
        local_margin: Annotated[float, Bounds(0, 1, high_open=True)] = 0.03,
        use_key: bool = True,
        key_dependence: bool = False,
        copy_groups: bool = True,
        use_confidence: bool = True,
        subject_prior: Positive = 0.5,
        subject_rho: Positive = 50.0,
        n_iter: Count = 20,
        n_splits: Count = 2,
        max_criterion_questions: Count = 10000,
        truth_grouping: TruthGrouping = "auto",
        truth_cluster_size: Count | None = None,
        seed: int = 0,
    ) -> None:
        init_params(self, locals())

    # ------------------------------------------------------------------ training
    def truth_groups(self, train: TrainingSet) -> tuple[str, np.ndarray]:
        """(name, (Q,) labels): the groups within which the truth estimate gives each voter its own ability.

        ``subject``: the subjects. ``clusters``: skill clusters of ~``truth_cluster_size`` questions within each
        subject (spherical k-means on the embeddings; ``None``: each of :data:`TRUTH_CLUSTER_SIZES`): a pool
        of niche specialists is right in a niche and wrong beside it, and one ability per subject averages
        that away, so the estimate cannot tell who is right where the niches disagree. ``auto``: the grouping
        under which held-out votes are most likely (:func:`rgd.truth.heldout_loglik`: voter parameters fitted
        on half the questions, the other half's votes scored; label-free), tried from coarse to fine and
        stopping at the first that does not improve, so a pool without niches keeps its subjects. The
        comparison runs on a seeded sample of at most :data:`GROUPING_SAMPLE` questions with
        :data:`GROUPING_EM_ITERATIONS` EM iterations (it compares groupings; the estimate itself uses all)."""
        subjects = np.asarray(train.table.subjects)
        if self.truth_grouping == "subject":
            return "subject", subjects
        codes = subject_codes(subjects)  # the same groups, compared as integers rather than strings
        x = normalize_rows(np.asarray(train.embeddings, dtype=np.float32))
        rng = np.random.default_rng([self.seed, 0x7C])
        rows = np.arange(len(subjects))  # the sample the clusters are fitted and the groupings compared on
        if len(rows) > GROUPING_SAMPLE:
            rows = np.sort(rng.choice(len(rows), GROUPING_SAMPLE, replace=False))
        n_subjects = int(codes.max()) + 1

        def finer():  # the groupings finer than the subjects, in order, each one's k-means fitted when reached
            for size in (TRUTH_CLUSTER_SIZES if self.truth_cluster_size is None else (self.truth_cluster_size,)):
                labels = _cluster_labels(x, codes, size, rng, rows)
                if labels.max() + 1 > n_subjects:
                    yield f"clusters:{size}", labels

        candidates = finer()
        first = next(candidates, None)
        if first is None:
            return "subject", subjects
        if self.truth_grouping == "clusters":
            return first
        t = train.table
        kw = dict(subject_prior=self.subject_prior, subject_rho=self.subject_rho, n_iter=GROUPING_EM_ITERATIONS,
                  seed=self.seed)
        choices, n_options = t.choices[:, rows], t.n_options[rows]
        # coarse to fine: a finer grouping is scored (and clustered) only while the coarser one beat everything
        # before it (clusters with no niche structure at ~150 questions rarely show one at ~50; saves a third)
        loglik: dict[str, float] = {}
        options = {"subject": subjects}
        best = "subject"
        for name, labels in itertools.chain([("subject", codes), first], candidates):
            options.setdefault(name, labels)
            loglik[name] = float(heldout_loglik(choices, n_options, subjects=labels[rows], **kw))
            if loglik[name] > loglik[best]:
                best = name
            elif name != "subject":
                break
        self.truth_grouping_loglik_ = loglik
        return best, options[best]

    def estimate(self, train: TrainingSet):
        """The label-free truth this router learns from (the key dropped unless it arbitrates), with voter
        abilities per :meth:`truth_groups`."""
        self.truth_grouping_loglik_ = {}
        self.truth_grouping_, groups = self.truth_groups(train)
        return self.estimate_votes(train.table, train.generator_keys if self.use_key else None, groups)

    def _copies(self, excess: np.ndarray, keyed: bool):
        """The voter weights and copy model for a pool's :func:`copy_excess` (``keyed``: seen through the
        generator's key too): copy groups share one vote (:func:`copy_group_weights`) only when keyed; otherwise,
        or where none forms, copies are fitted (:func:`copy_parents`)."""
        if not self.copy_groups:
            return None, None
        weights = copy_group_weights(excess) if keyed else None
        return (weights, None) if weights is not None else (None, copy_parents(excess))

    def _group_start(self, est, t: ResponseTable, excess: np.ndarray, copies, conf, kw: dict):
        """Without a key, where the copy model has trees (``copies``): the copy model refitted from the estimate in
        which each tree shares one vote (:func:`copy_group_weights` over the same links, :data:`COPY_LINK`), kept
        where its likelihood beats ``est``'s. Both are fixed points of the same copy model: the crowd's, where the
        copies vouch for their source, and the one where they count once. Its likelihood, not a link threshold,
        decides between them, so a crowd of derivatives of a weak model loses its majority where the votes say
        so, and models that are only right together keep theirs (measured on the stress and frontier suites:
        benchmarks/README.md). Where the two leaders differ, the kept one's rival is recorded for the flag
        (``params["start_rival"]``, :attr:`rgd.truth.Identifiability.start_rival`). Costs two more fits, only in
        pools with copies."""
        weights = copy_group_weights(excess, COPY_LINK)  # the copy model's trees: never None where it has one
        grouped = estimate_truth_restarts(t.choices, t.n_options, confidence=conf, voter_weights=weights, **kw)
        fit_kw = {k: v for k, v in kw.items() if k != "seed"}
        alt = estimate_truth(t.choices, t.n_options, conf, copies=copies, start=grouped.posterior, **fit_kw)
        if alt.log_likelihood <= est.log_likelihood:
            return est
        # the leader the usual starts reach: where it differs, the choice rests on the copies' discount (flagged)
        alt.params.update(start=GROUP_START, restart_loglik=est.params.get("restart_loglik", {}),
                          start_rival=int(np.argmax(est.accuracy[:est.n_pool])))
        return alt

    def estimate_votes(self, t: ResponseTable, key: np.ndarray | None, groups: np.ndarray):
        """:meth:`estimate` on a table's votes (and the generator's ``key``, or None) with voter abilities per
        ``groups`` given, its identifiability in ``params``: what ``rgd check`` estimates too."""
        conf = t.confidence if (self.use_confidence and t.has_confidence) else None
        kw = dict(subjects=subject_codes(groups), subject_prior=self.subject_prior, subject_rho=self.subject_rho,
                  n_iter=self.n_iter, seed=self.seed)  # the groups as integers: the same groups, found faster
        # key_dependence: with a key, pool models that share errors beyond the pool's base rate (seen through the
        # key) count as one voter together; off by default: with a weak generator's keys it costs more than it
        # saves (benchmarks/README.md, "Pools it was not developed on")
        # copy_groups: otherwise, copies seen through every other voter are fitted as copies of their source, or
        # share one vote where the key saw them too (self._copies)
        excess = copy_excess(t.choices, key)  # computed once: the copy groups' and the flag's
        weights = dependence_weights(t.choices, key) if key is not None and self.key_dependence else None
        weights, copies = self._copies(excess, key is not None) if weights is None else (weights, None)
        est = estimate_truth_restarts(t.choices, t.n_options, confidence=conf, key=key, voter_weights=weights,
                                      copies=copies, **kw)
        if key is not None and not key_is_arbiter(est):  # a weak key: neither it nor its coincidences count
            dropped = est.key_accuracy
            excess = copy_excess(t.choices)
            weights, copies = self._copies(excess, False)
            key, est = None, estimate_truth_restarts(t.choices, t.n_options, confidence=conf, voter_weights=weights,
                                                     copies=copies, **kw)
            est.params["dropped_key_accuracy"] = dropped
        if key is None and copies is not None:
            est = self._group_start(est, t, excess, copies, conf, kw)
        est.params["identifiability"] = identifiability(est, t.choices, t.n_options, conf, key, groups, excess)
        est.params["groups"] = groups
        return est

    def _fit(self, train: TrainingSet) -> None:
        with threadpool_limits(limits=1, user_api="blas"):  # many small products: one thread is faster
            est = self.estimate(train)
            x = normalize_rows(np.asarray(train.embeddings, dtype=np.float32))
            subjects = subject_codes(train.table.subjects)  # the same groups, compared as integers
            scores = est.pool_scores
            anchored = key_is_anchor(est)
            start = est.params.get("start", "majority")  # which EM start the estimate kept (label-free)
            self.truth_start_ = start if isinstance(start, str) else (
                train.table.models[start] if start < est.n_pool else "generator key")
            if self.levels == "auto":
                criterion = self._criterion(x, subjects, scores, est.posterior, train.table.choices)
                best = finest = int(np.argmax(criterion))
                if not anchored and criterion[best] - criterion[0] <= self.local_margin:
                    best = 0  # AUTO_CANDIDATES[0] is the pool-wide ranking
                level, size = AUTO_CANDIDATES[best]
                p_level, p_size = AUTO_CANDIDATES[finest]
            else:
                level, size, criterion = self.levels, self.cluster_size, np.zeros(0)
                p_level, p_size = level, size
            rng = np.random.default_rng(self.seed)
            cents, table = _fit_level(x, subjects, scores, level, size, rng)
            # the cost policy's estimate: the criterion's best level even where the ranking needs the margin,
            # fitted (like the criterion) on at most max_criterion_questions sampled questions: bounded at scale
            if (p_level, p_size) == (level, size):
                p_cents, p_table = cents, table
            else:
                keep = np.arange(len(subjects))
                if len(keep) > self.max_criterion_questions:
                    keep = np.sort(rng.choice(len(keep), self.max_criterion_questions, replace=False))
                p_cents, p_table = _fit_level(x[keep], subjects[keep], scores[:, keep], p_level, p_size, rng)
        self.centroids_, self.cluster_scores_ = cents, table
        self.correctness_centroids_, self.correctness_table_ = p_cents, p_table
        self.correctness_level_, self.correctness_cluster_size_ = p_level, int(p_size)
        self.level_ = level
        self.level_cluster_size_ = int(size)
        self.criterion_ = criterion.astype(np.float64)
        self.estimated_accuracy_ = est.accuracy[: est.n_pool].astype(np.float64)
        self.key_accuracy_ = est.key_accuracy if est.key_accuracy is not None else est.params.get("dropped_key_accuracy")
        self.key_anchor_ = bool(anchored)
        self.identifiability_ = est.params["identifiability"]
        self.voter_rho_ = voter_rho(est)

    def _criterion(self, x, subjects, scores, posterior, choices) -> np.ndarray:
        """Held-out estimated accuracy ((top-1 + top-3 vote) / 2) of each candidate routing, label-free; on a
        seeded sample of at most ``max_criterion_questions`` questions (it compares routings, it does not fit)."""
        rng = np.random.default_rng(self.seed)
        if len(subjects) > self.max_criterion_questions:
            keep = np.sort(rng.choice(len(subjects), self.max_criterion_questions, replace=False))
            x, subjects, scores, posterior, choices = x[keep], subjects[keep], scores[:, keep], posterior[keep], choices[:, keep]
        n = len(subjects)
        crit = np.zeros(len(AUTO_CANDIDATES))
        names, subj = np.unique(subjects, return_inverse=True)
        for _ in range(self.n_splits):
            half = np.zeros(n, dtype=bool)
            for s in range(len(names)):
                idx = np.flatnonzero(subj == s)
                half[rng.permutation(idx)[: len(idx) // 2]] = True
            for a, b in ((half, ~half), (~half, half)):
                fit_part = x[a], subjects[a], scores[:, a]  # taken once for the candidates
                basis = _LevelBasis.of(*fit_part[1:])  # and what their fits share, computed once
                x_b, post_b, choices_b = x[b], posterior[b], choices[:, b]
                for ci, (level, size) in enumerate(AUTO_CANDIDATES):
                    cents, table = _fit_level(*fit_part, level, size, rng, basis, CRITERION_KMEANS_ITERATIONS)
                    # each cluster's ranking sorted once (a query's is its cluster's), not once per query
                    ranked = np.argsort(-table, axis=1, kind="stable")
                    ranks = ranked[(x_b @ np.ascontiguousarray(cents.T)).argmax(axis=1)]
                    crit[ci] += sum(estimated_vote_accuracy(ranks, post_b, choices_b)) / 2
        return crit / (2 * self.n_splits)

    # ------------------------------------------------------------------ routing
    def _scores(self, embeddings: np.ndarray) -> np.ndarray:
        nearest = (normalize_rows(embeddings) @ self.centroids_.T).argmax(axis=1)
        return self.cluster_scores_[nearest].astype(np.float32)

    def correctness_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """The estimated probability of being right at the level the label-free criterion found best, also
        where the ranking stays pool-wide for want of ``local_margin`` (see :meth:`Router.correctness_scores`)."""
        self.check_is_fitted()
        if self.correctness_centroids_ is self.centroids_:
            return self.scores(embeddings)
        x = normalize_rows(np.atleast_2d(np.asarray(embeddings, dtype=np.float32)))
        return self.correctness_table_[(x @ self.correctness_centroids_.T).argmax(axis=1)].astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"level": self.level_, "level_cluster_size": self.level_cluster_size_,
                "key_accuracy": self.key_accuracy_, "key_anchor": self.key_anchor_,
                "correctness_level": self.correctness_level_,
                "correctness_cluster_size": self.correctness_cluster_size_,
                "truth_grouping": self.truth_grouping_, "truth_grouping_loglik": self.truth_grouping_loglik_,
                "truth_start": self.truth_start_, "identifiability": self._identifiability_state()}
        arrays = {"centroids": self.centroids_, "cluster_scores": self.cluster_scores_, "criterion": self.criterion_,
                  "estimated_accuracy": self.estimated_accuracy_}
        if self.voter_rho_ is not None:
            arrays["voter_rho"] = self.voter_rho_
        if self.correctness_centroids_ is not self.centroids_:
            arrays.update(correctness_centroids=self.correctness_centroids_,
                          correctness_table=self.correctness_table_)
        return meta, arrays

    def _load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.level_, self.level_cluster_size_ = str(meta["level"]), int(meta["level_cluster_size"])
        self.key_accuracy_, self.key_anchor_ = meta.get("key_accuracy"), bool(meta.get("key_anchor", False))
        self.centroids_ = arrays["centroids"].astype(np.float32)
        self.cluster_scores_ = arrays["cluster_scores"]
        self.criterion_, self.estimated_accuracy_ = arrays["criterion"], arrays["estimated_accuracy"]
        if self.cluster_scores_.shape != (len(self.centroids_), len(self.models_)):
            raise ValueError("cluster scores do not match the centroids and the pool")
        self.voter_rho_ = arrays.get("voter_rho")  # absent from a bundle written before it was kept
        self.truth_grouping_ = str(meta.get("truth_grouping", "subject"))
        self.truth_grouping_loglik_ = dict(meta.get("truth_grouping_loglik") or {})
        self.truth_start_ = str(meta.get("truth_start", "majority"))
        ident = meta.get("identifiability")  # None in a bundle written before it was kept
        known = {f.name for f in dataclasses.fields(Identifiability)}  # a field a bundle has and this code does
        self.identifiability_ = None if ident is None else Identifiability(  # not know is left, not an error
            **{k: v for k, v in ident.items() if k in known})
        self.correctness_level_ = str(meta.get("correctness_level", self.level_))
        self.correctness_cluster_size_ = int(meta.get("correctness_cluster_size", self.level_cluster_size_))
        if "correctness_centroids" in arrays:
            self.correctness_centroids_ = arrays["correctness_centroids"].astype(np.float32)
            self.correctness_table_ = arrays["correctness_table"]
            if self.correctness_table_.shape != (len(self.correctness_centroids_), len(self.models_)):
                raise ValueError("correctness table does not match its centroids and the pool")
        else:  # the same level as the ranking (or a bundle written before it had its own)
            self.correctness_centroids_, self.correctness_table_ = self.centroids_, self.cluster_scores_

    def summary(self) -> dict[str, Any]:
        """What the label-free choices were (for reports): routing level, key use, estimated accuracies."""
        self.check_is_fitted()
        return {"level": self.level_, "cluster_size": self.level_cluster_size_, "n_clusters": int(len(self.centroids_)),
                "correctness_level": self.correctness_level_,
                "correctness_cluster_size": self.correctness_cluster_size_,
                "truth_grouping": self.truth_grouping_,
                "truth_grouping_loglik": {k: round(v, 5) for k, v in self.truth_grouping_loglik_.items()},
                "truth_start": self.truth_start_, "key_accuracy": self.key_accuracy_, "key_anchor": self.key_anchor_,
                "criterion": dict(zip([f"{lv}:{s}" if s else lv for lv, s in AUTO_CANDIDATES],
                                      np.round(self.criterion_, 4).tolist())),
                "estimated_accuracy": dict(zip(self.models_, np.round(self.estimated_accuracy_, 4).tolist())),
                "identifiability": self._identifiability_report()}

    def _identifiability_report(self) -> dict[str, Any] | None:
        """Whether the routed choice is settled without labels. Routing pool-wide, it is the top model's
        identifiability (:func:`rgd.truth.identifiability`); routing locally, the local routing passed its own
        label-free test (the criterion beyond ``local_margin``), and which model is best pool-wide (often none,
        in a pool of specialists) is reported beside it as ``top_model_identifiable``. A local routing is not
        settled, though, where the pool-wide leader copies (:attr:`rgd.truth.Identifiability.independent_leader`):
        the copies vouch for it in every cluster, with the same voter estimates, so its local wins are in doubt too."""
        if self.identifiability_ is None:
            return None
        ident = self.identifiability_
        out = {**ident.to_dict(self.models_), "top_model_identifiable": ident.identifiable,
               "sentence": ident.sentence(self.models_)}
        if self.level_ != "global":
            where = "subject" if self.level_ == "subject" else "skill cluster"
            out["identifiable"] = ident.independent_leader
            if not ident.independent_leader:
                out["sentence"] = (f"It routes per {where}, but NOT identifiably without labels: "
                                   + ident.copy_doubt(self.models_))
                return out
            out["sentence"] = (f"It routes per {where}, a choice its label-free criterion made; "
                               + ("the" if ident.identifiable else "no") + " single best model is identifiable "
                               f"pool-wide ({self.models_[ident.leader]} leads {self.models_[ident.runner_up]} by "
                               f"{ident.lead:+.1%} judged by the other voters, needs {ident.required_lead:.1%}). "
                               f"Its gain over sending every question to {self.models_[ident.leader]} rests on the "
                               "same label-free estimate: `rgd check` tests it with a few labels.")
        return out

    def _identifiability_state(self) -> dict[str, Any] | None:
        return None if self.identifiability_ is None else dataclasses.asdict(self.identifiability_)


# ---------------------------------------------------------------------- the pieces, as functions
def voter_rho(est) -> np.ndarray | None:
    """(M,) each pool model's popular-distractor rate in a truth estimate, its per-group rates averaged over the
    questions (None for uniform errors): with the per-cluster P(right) (``cluster_scores_``), the voter parameters
    the gateway's monitor holds fixed (:func:`rgd.serving.monitor.training_voters`)."""
    if est.rho is None:
        return None
    _, groups = np.unique(np.asarray(est.params["groups"]), return_inverse=True)
    weight = np.bincount(groups, minlength=est.rho.shape[1]).astype(np.float64)
    return (est.rho[: est.n_pool] @ weight / weight.sum()).astype(np.float64)


def spherical_kmeans(x: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 20):
    """(k, d) unit centroids and (n,) labels of rows ``x`` (unit vectors); one cluster when k <= 1."""
    n = len(x)
    if k <= 1 or n <= k:
        return normalize_rows(x.mean(axis=0, keepdims=True)), np.zeros(n, dtype=np.int64)
    # the centres kept transposed and contiguous (as CASCAL's :func:`rgd.routers.clustering.spherical_kmeans`),
    # one membership buffer reused, empty clusters found by a count
    centers_t = np.ascontiguousarray(_plus_plus(x, k, rng).T)
    labels = np.zeros(n, dtype=np.intp)
    rows = np.arange(n)
    member = np.zeros((k, n), dtype=x.dtype)
    for it in range(n_iter):
        new = (x @ centers_t).argmax(axis=1)
        if it and (new == labels).all():
            break
        labels = new
        member.fill(0)
        member[labels, rows] = 1.0
        sums = member @ x  # (np.add.at is ~50x slower here)
        square = squared_norms(sums)
        if not square.all():  # an empty cluster has a zero sum, so a count is needed only then
            empty = np.bincount(labels, minlength=k) == 0
            if empty.any():
                sums[empty] = x[rng.choice(n, size=int(empty.sum()), replace=False)]
                square = squared_norms(sums)
        centers_t = np.ascontiguousarray(unit_rows(sums, square).T)  # normalize_rows' operations and bits
    return np.ascontiguousarray(centers_t.T), labels


def subject_codes(subjects) -> np.ndarray:
    """(Q,) each question's group as an integer, numbered in the groups' sorted order (``np.unique``'s): the same
    groups, in the same order, as the labels, which every fit here only tells apart and sorts; integers are
    sorted and compared several times faster than strings."""
    return np.unique(np.asarray(subjects), return_inverse=True)[1].reshape(-1)


def _cluster_labels(x: np.ndarray, subjects: np.ndarray, size: int, rng: np.random.Generator,
                    fit_rows: np.ndarray) -> np.ndarray:
    """(Q,) labels of skill clusters of ~``size`` questions within each subject (numbered across subjects):
    k-means fitted on the subject's questions among ``fit_rows`` (a bounded sample), every question then
    assigned to its nearest centroid (one product per subject)."""
    labels = np.empty(len(subjects), dtype=np.int64)
    in_fit = np.zeros(len(subjects), dtype=bool)
    in_fit[fit_rows] = True
    offset = 0
    for name in np.unique(subjects):
        idx = np.flatnonzero(subjects == name)
        fit_idx = idx[in_fit[idx]]
        if len(fit_idx) == 0:
            fit_idx = idx
        centers, _ = spherical_kmeans(x[fit_idx], max(1, int(round(len(idx) / size))), rng)
        labels[idx] = (x[idx] @ centers.T).argmax(axis=1) + offset
        offset += len(centers)
    return labels


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding for cosine distance: each next centre drawn with probability proportional to its
    distance to the nearest centre so far (``1 - cos``), so well-separated niches each get one; a uniform
    draw can put every centre in one niche and leave another merged into a neighbour."""
    n = len(x)
    chosen = [int(rng.integers(n))]
    dist = np.maximum(1.0 - x @ x[chosen[0]], 0.0)
    step, p = np.empty_like(dist), np.empty_like(dist)  # the same operations in two reused buffers
    for j in range(1, k):
        total = float(dist.sum())
        nxt = weighted_draw(np.divide(dist, total, out=p), rng) if total > 0 else int(rng.integers(n))
        chosen.append(nxt)
        if j < k - 1:  # the last centre's distances would never be read
            np.matmul(x, x[nxt], out=step)
            np.subtract(1.0, step, out=step)
            np.minimum(dist, np.maximum(step, 0.0, out=step), out=dist)
    return x[chosen].copy()


def shrink(child_mean, child_n, parent_mean, var_within):
    """(G, M) group means pulled towards (G, M) parent means by ``n / (n + n0)``, n0 estimated per model."""
    dev2 = (child_mean - parent_mean) ** 2
    noise = var_within[None, :] / np.maximum(child_n, 1)[:, None]
    wts = child_n[:, None] / max(child_n.sum(), 1)
    tau2 = np.maximum(((dev2 - noise) * wts).sum(axis=0), 1e-6)  # method of moments: spread beyond noise
    n0 = var_within / tau2
    lam = child_n[:, None] / (child_n[:, None] + n0[None, :])
    return lam * child_mean + (1 - lam) * parent_mean


@dataclasses.dataclass(frozen=True)
class _LevelBasis:
    """What every routing level fitted on the same questions shares (computed once for the criterion's
    candidates on one half): the centred scores, their pool-wide and subject-level shrunk means."""

    centred: np.ndarray
    pool_mean: np.ndarray
    g: np.ndarray
    names: np.ndarray
    subj: np.ndarray
    var: np.ndarray
    sh_s: np.ndarray

    @classmethod
    def of(cls, subjects, scores) -> _LevelBasis:
        scores = np.asarray(scores, dtype=np.float64)
        centred = scores - scores.mean(axis=0, keepdims=True)  # a question's difficulty moves every model alike
        pool_mean = scores.mean(axis=0)  # (Q,) added back per cluster: the scores stay probabilities
        g = centred.mean(axis=1)
        names, subj = np.unique(subjects, return_inverse=True)
        var = centred.var(axis=1) + 1e-6
        cnt_s = np.bincount(subj, minlength=len(names))
        mean_s = _group_mean(centred, subj, len(names))
        sh_s = shrink(mean_s, cnt_s, np.broadcast_to(g, mean_s.shape), var)
        return cls(centred, pool_mean, g, names, subj, var, sh_s)


def _fit_level(x, subjects, scores, level: str, size: int, rng, basis: _LevelBasis | None = None,
               n_iter: int = 20):
    """Centroids (K, d) and per-cluster shrunk scores (K, M) for one routing level; ``basis``: the
    questions' :class:`_LevelBasis` where already computed; ``n_iter``: k-means' Lloyd iterations at most."""
    b = _LevelBasis.of(subjects, scores) if basis is None else basis
    centred, pool_mean, g, names, subj = b.centred, b.pool_mean, b.g, b.names, b.subj
    if level == "global":
        return normalize_rows(x.mean(axis=0, keepdims=True)), (g + pool_mean.mean())[None, :]
    cents, cl_subject, labels = [], [], np.zeros(len(x), dtype=np.int64)
    offset = 0
    for s in range(len(names)):
        idx = np.flatnonzero(subj == s)
        k = max(1, int(round(len(idx) / size))) if level == "clusters" else 1
        c, lab = spherical_kmeans(x[idx], k, rng, n_iter)
        labels[idx] = lab + offset
        offset += len(c)
        cents.append(c)
        cl_subject += [s] * len(c)
    cl_subject = np.asarray(cl_subject)
    n_k = offset
    cnt_k = np.bincount(labels, minlength=n_k)
    mean_k = _group_mean(centred, labels, n_k)
    sh_k = shrink(mean_k, cnt_k, b.sh_s[cl_subject], b.var)
    level_mean = np.bincount(labels, weights=pool_mean, minlength=n_k) / np.maximum(cnt_k, 1)
    return np.vstack(cents).astype(np.float32), sh_k + level_mean[:, None]


def _group_mean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(G, M) mean of (M, Q) values over the questions of each group."""
    sums = np.stack([np.bincount(groups, weights=row, minlength=n_groups) for row in values], axis=1)
    return sums / np.maximum(np.bincount(groups, minlength=n_groups), 1)[:, None]


def _vote3(c0, c1, c2):
    """The option a 3-model vote picks, ties (all different) to the first answered in rank order."""
    pick = np.where(c0 >= 0, c0, np.where(c1 >= 0, c1, c2))
    pick = np.where((c1 >= 0) & (c1 == c2), c1, pick)
    return np.where((c0 >= 0) & ((c0 == c1) | (c0 == c2)), c0, pick)


def estimated_vote_accuracy(ranks: np.ndarray, posterior: np.ndarray, choices: np.ndarray) -> tuple[float, float]:
    """(top-1, top-3 vote) expected under a posterior over the options (label-free)."""
    n = len(ranks)
    cols = np.arange(n)
    c = np.asarray(choices)[ranks[:, :3].T, cols[None, :]]
    top1 = np.where(c[0] >= 0, posterior[cols, np.maximum(c[0], 0)], 0.0).mean()
    if c.shape[0] < 3:
        return float(top1), float(top1)
    v = _vote3(c[0], c[1], c[2])
    return float(top1), float(np.where(v >= 0, posterior[cols, np.maximum(v, 0)], 0.0).mean())
