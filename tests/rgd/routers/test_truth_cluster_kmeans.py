"""truth_cluster's skill-cluster k-means and level fits: the fast paths compute what the plain version does."""

import numpy as np
import pytest

from rgd.embedding.vectors import normalize_rows
from rgd.routers.truth_cluster import (
    CRITERION_KMEANS_ITERATIONS,
    GROUPING_EM_ITERATIONS,
    GROUPING_SAMPLE,
    TRUTH_CLUSTER_SIZES,
    TruthClusterRouter,
    _cluster_labels,
    _fit_level,
    _LevelBasis,
    spherical_kmeans,
    subject_codes,
)
from rgd.truth import estimate_truth, heldout_loglik
from tests.rgd.routers.test_truth_cluster import _training_set


def _plain_kmeans(x, k, rng, n_iter=20):
    """The textbook version (rng.choice, normalize_rows, a count for empty clusters) the fast one must equal;
    the similarities in the fast one's layout (centres transposed and contiguous: OpenBLAS may round the last
    bit differently for a transposed view, which decides the exact ties between duplicated centres)."""
    n = len(x)
    chosen = [int(rng.integers(n))]
    dist = np.maximum(1.0 - x @ x[chosen[0]], 0.0)
    for _ in range(1, k):
        total = float(dist.sum())
        chosen.append(int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n)))
        dist = np.minimum(dist, np.maximum(1.0 - x @ x[chosen[-1]], 0.0))
    centers = x[chosen].copy()
    labels = np.zeros(n, dtype=np.int64)
    for it in range(n_iter):
        new = (x @ np.ascontiguousarray(centers.T)).argmax(axis=1)  # the layout's bits break exact ties
        if it and np.array_equal(new, labels):
            break
        labels = new
        onehot = np.zeros((k, n), dtype=x.dtype)
        onehot[labels, np.arange(n)] = 1.0
        sums = onehot @ x
        empty = np.bincount(labels, minlength=k) == 0
        if empty.any():
            sums[empty] = x[rng.choice(n, size=int(empty.sum()), replace=False)]
        centers = normalize_rows(sums)
    return centers, labels


@pytest.mark.parametrize("seed", range(6))
def test_spherical_kmeans_equals_the_plain_version(seed):
    """Same centroids, labels and generator state afterwards; seed 5 has 4 distinct points for k = 6, so
    k-means++ runs out of distance and Lloyd's iterations re-seed empty clusters (the generator's draws)."""
    g = np.random.default_rng(seed)
    n, k = int(g.integers(40, 300)), int(g.integers(2, 30))
    x = normalize_rows(g.normal(size=(n, 32)) + 3 * g.normal(size=(5, 32))[g.integers(0, 5, n)])
    if seed == 5:
        x, k = x[g.integers(0, 4, n)], 6
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    fast, plain = spherical_kmeans(x, k, a), _plain_kmeans(x, k, b)
    assert np.array_equal(fast[0], plain[0]) and np.array_equal(fast[1], plain[1])
    assert a.random() == b.random()


@pytest.mark.parametrize("level,size", [("global", 0), ("subject", 0), ("clusters", 25)])
def test_fit_level_with_a_shared_basis_is_the_same_fit(level, size):
    """The criterion computes the questions' :class:`_LevelBasis` once for its candidates: the same fit."""
    g = np.random.default_rng(0)
    x = normalize_rows(g.normal(size=(300, 16)))
    subjects = np.array(["a", "b", "c"])[g.integers(0, 3, 300)]
    scores = g.random((4, 300))
    alone = _fit_level(x, subjects, scores, level, size, np.random.default_rng(1))
    shared = _fit_level(x, subjects, scores, level, size, np.random.default_rng(1), _LevelBasis.of(subjects, scores))
    assert all(np.array_equal(p, q) for p, q in zip(alone, shared))


def test_integer_subject_codes_fit_what_the_labels_fit():
    """The router compares subjects as integer codes (in the labels' sorted order): the same level fits and the
    same truth estimate as with the string labels."""
    g = np.random.default_rng(2)
    x = normalize_rows(g.normal(size=(400, 16)))
    subjects = np.array(["physics", "art", "law", "biology"])[g.integers(0, 4, 400)]
    codes = subject_codes(subjects)
    assert codes.dtype.kind == "i" and np.array_equal(np.unique(subjects)[codes], subjects)
    scores = g.random((4, 400))
    for level, size in (("subject", 0), ("clusters", 25)):
        by_label = _fit_level(x, subjects, scores, level, size, np.random.default_rng(1))
        by_code = _fit_level(x, codes, scores, level, size, np.random.default_rng(1))
        assert all(np.array_equal(p, q) for p, q in zip(by_label, by_code))
    choices = g.integers(-1, 4, (5, 400))
    a = estimate_truth(choices, np.full(400, 4), subjects=subjects)
    b = estimate_truth(choices, np.full(400, 4), subjects=codes)
    assert np.array_equal(a.posterior, b.posterior) and np.array_equal(a.rho, b.rho)


def _plain_truth_groups(router, train):
    """``truth_groups`` as it was written before its clusters were fitted lazily: every candidate grouping's
    k-means first, on the string subjects."""
    subjects = np.asarray(train.table.subjects)
    x = normalize_rows(np.asarray(train.embeddings, dtype=np.float32))
    rng = np.random.default_rng([router.seed, 0x7C])
    rows = np.arange(len(subjects))
    if len(rows) > GROUPING_SAMPLE:
        rows = np.sort(rng.choice(len(rows), GROUPING_SAMPLE, replace=False))
    candidates = {}
    for size in TRUTH_CLUSTER_SIZES:
        labels = _cluster_labels(x, subjects, size, rng, rows)
        if labels.max() + 1 > len(np.unique(subjects)):
            candidates[f"clusters:{size}"] = labels
    kw = dict(subject_prior=router.subject_prior, subject_rho=router.subject_rho, n_iter=GROUPING_EM_ITERATIONS,
              seed=router.seed)
    choices, n_options = train.table.choices[:, rows], train.table.n_options[rows]
    options = {"subject": subjects, **candidates}
    loglik, best = {}, "subject"
    for name, labels in options.items():
        loglik[name] = float(heldout_loglik(choices, n_options, subjects=labels[rows], **kw))
        if loglik[name] > loglik[best]:
            best = name
        elif name != "subject":
            break
    return best, options[best], loglik


@pytest.mark.parametrize("kind,seed", [("specialists", 1), ("dominant", 1)])
def test_truth_groups_equal_the_version_that_clusters_every_candidate_first(kind, seed):
    """The grouping comparison fits a finer grouping's k-means only when it is reached (a pool that keeps its
    subjects never clusters at ~50 questions): the same grouping, labels and held-out likelihoods."""
    train = _training_set(kind, seed=seed)[0]
    router = TruthClusterRouter()
    name, labels = router.truth_groups(train)
    want = _plain_truth_groups(router, train)
    assert name == want[0] and np.array_equal(labels, want[1]) and router.truth_grouping_loglik_ == want[2]
    assert name.startswith("clusters:") == (kind == "specialists")


def test_the_criterions_level_fits_cap_kmeans_and_the_routers_own_fit_does_not(monkeypatch):
    """The level criterion's k-means stop after CRITERION_KMEANS_ITERATIONS Lloyd iterations (they compare
    routings); the routing the router keeps is fitted with the full 20. ``_fit_level(n_iter=...)`` is the
    per-subject k-means with that cap."""
    import rgd.routers.truth_cluster as tc

    g = np.random.default_rng(4)
    x = normalize_rows(g.normal(size=(300, 16)))
    subjects = np.array(["a", "b", "c"])[g.integers(0, 3, 300)]
    scores = g.random((4, 300))
    capped = _fit_level(x, subjects, scores, "clusters", 12, np.random.default_rng(1), n_iter=2)
    rng, cents = np.random.default_rng(1), []
    for name in ("a", "b", "c"):
        part = x[subjects == name]
        cents.append(spherical_kmeans(part, max(1, int(round(len(part) / 12))), rng, n_iter=2)[0])
    assert np.array_equal(capped[0], np.vstack(cents))
    calls, plain = [], tc.spherical_kmeans

    def recorded(x, k, rng, n_iter=20):
        calls.append(n_iter)
        return plain(x, k, rng, n_iter)

    monkeypatch.setattr(tc, "spherical_kmeans", recorded)
    router = TruthClusterRouter(truth_grouping="subject").fit(_training_set("specialists", seed=1)[0])
    assert CRITERION_KMEANS_ITERATIONS < 20 and set(calls) == {CRITERION_KMEANS_ITERATIONS, 20}
    assert router.level_ != "global" and calls[-1] == 20  # the kept routing's fit comes last, with all 20
