"""Who is right, estimated from every label-free signal: the pool's votes, the generator's key, confidences.

Given the answers of ``M`` voters to ``Q`` multiple-choice questions (``-1`` = no answer), and optionally the
generator's key (one more voter) and confidences (mean token log-probabilities), :func:`estimate_truth`
returns, without reading any answer key, a posterior over each question's options, every voter's estimated
accuracy, and every voter's per-question probability of being right (what the product's router learns from).

The model (an item-response Dawid-Skene model with a popular distractor, fitted by EM):

* voter ``v`` answers question ``q`` (subject ``s``) correctly with probability
  ``sigmoid(theta_v + delta_vs + beta_v * z_vq - b_q)``: ability, a per-subject offset (shrunk to 0 by a
  Gaussian prior), an estimated slope on the z-scored confidence, and the question's difficulty;
* a wrong voter picks the question's latent *popular distractor* with probability ``rho_vs`` and any other
  wrong option uniformly. This is the correlated-error part: models that share training data fall for the
  same distractor, so their agreement is weak evidence (likelihood ratio ``p / ((1 - p) rho)`` instead of
  the one-coin ``p (K - 1) / (1 - p)``), while a voter that errs idiosyncratically keeps a large weight. That
  lets one dominant model out-vote a crowd of weaker models that share errors, without naming families;
* the generator's key is one more voter whose ability and distractor rate are estimated like everyone's: a
  strong generator gets a large weight, a weak one a small one (and :func:`key_is_anchor` says whether it is
  trusted above the whole pool).

EM starts from the plain majority and runs a fixed number of iterations (20; it converges in ~15 on MMLU-Pro);
priors keep every parameter finite. Everything is vectorised over voters, questions and options; the joint
over (truth, distractor) pairs factorises, so its marginals cost O(Q K) an iteration (:func:`_pair_posteriors`).
EM keeps its tables as (K, Q), an option per row, so a question's options are compared and added elementwise
(numpy reduces short rows slowly), in reused buffers; every number is computed as in the plain (Q, K) code, in
the same order, so the estimate is the same to the bit (tests/rgd/test_truth_em_layout.py).

Why it should hold on other pools: no constant is fitted to one pool. Abilities, difficulties, per-subject
offsets and distractor rates are estimated per data set from the answers alone; the constants are prior
scales and an iteration count (fixed defaults), and :func:`heldout_loglik` scores the model's variants by
the likelihood of held-out questions, a label-free criterion (it ranked the variants in the order of their
true accuracy on every setting measured: benchmarks/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rgd.errors import DataError, ParameterError

MAD_TO_SIGMA = 1.4826


@dataclass
class TruthEstimate:
    """What :func:`estimate_truth` estimates (all label-free). With a key, voter ``M`` (the last) is the key."""

    posterior: np.ndarray  # (Q, O) posterior over each question's options (0 beyond its options)
    accuracy: np.ndarray  # (V,) estimated P(right) per voter (a non-answer counts as wrong)
    scores: np.ndarray  # (V, Q) posterior of the option the voter chose (0 where it did not answer)
    ability: np.ndarray  # (V,) theta
    difficulty: np.ndarray  # (Q,) b
    rho: np.ndarray | None  # (V, S) P(popular distractor | wrong); None for uniform errors
    log_likelihood: float  # marginal log-likelihood of the answers under the fitted model
    n_pool: int  # voters that are pool models (the key, when given, comes after them)
    params: dict = field(default_factory=dict)

    @property
    def truth(self) -> np.ndarray:
        """(Q,) the most probable option per question."""
        return self.posterior.argmax(axis=1)

    @property
    def pool_scores(self) -> np.ndarray:
        """(M, Q) the pool models' per-question probabilities of being right (the key's row dropped)."""
        return self.scores[: self.n_pool]

    @property
    def key_accuracy(self) -> float | None:
        """The generator key's estimated accuracy, or None when no key was given."""
        return float(self.accuracy[-1]) if self.scores.shape[0] > self.n_pool else None


def key_is_arbiter(estimate: TruthEstimate, questions: np.ndarray | None = None) -> bool:
    """Whether the generator's key is estimated at least as reliable as the pool's runner-up.

    Then it is kept as a voter: a model outside the pool, it does not share the pool's crowd errors, and as
    reliable as the second-best model it can tell the first two apart where the crowd sides with the wrong
    one (measured on the recorded pools with a strong generator's keys: dropping such a key, as when only an
    anchor was kept, cost up to 18 points; benchmarks/README.md). A key below the runner-up is dropped: it
    cannot tell the crowd's shared errors from the truth better than the pool, and only moves the estimate.
    ``questions`` (a mask or indices): judge every voter on those questions only (e.g. the ones the key
    answered, when it has none for the others).
    """
    if estimate.key_accuracy is None:
        return False
    accuracy = estimate.accuracy if questions is None else estimate.scores[:, questions].mean(axis=1)
    return bool(accuracy[-1] >= float(np.sort(accuracy[: estimate.n_pool])[-2]))


def key_is_anchor(estimate: TruthEstimate) -> bool:
    """Whether the generator's key is estimated more reliable than every pool model.

    Only then can it anchor local (per-subject) estimates: a key weaker than the pool's best model cannot
    tell the crowd's shared errors from the truth any better than the pool itself.
    """
    key = estimate.key_accuracy
    return key is not None and key > float(estimate.accuracy[: estimate.n_pool].max())


#: the M-step's working precision where no copies are modelled (:func:`estimate_truth`; the E-step is float64)
M_STEP_DTYPE = np.float32

#: up to this many groups the per-group sums are one product with a one-hot matrix, beyond it np.bincount
ONEHOT_MAX_GROUPS = 32


def _sigmoid(x):
    """``1 / (1 + exp(-x))``, computed in one buffer (the same operations, so the same bits; EM calls it on every
    vote a dozen times an iteration)."""
    out = np.negative(x)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


class _Votes:
    """Validated, vectorisation-ready view of the answers (the key appended as the last voter)."""

    def __init__(self, choices, n_options, confidence, key, subjects):
        choices = np.asarray(choices)
        if choices.ndim != 2:
            raise ParameterError(f"choices must be (voters, questions), got shape {choices.shape}")
        self.n_pool = choices.shape[0]
        choices = choices.astype(np.int64)
        if key is not None:
            key = np.asarray(key).astype(np.int64)
            if key.shape != (choices.shape[1],):
                raise ParameterError(f"key must be ({choices.shape[1]},), got {key.shape}")
            choices = np.vstack([choices, key[None, :]])
            if confidence is not None:
                confidence = np.vstack([confidence, np.full((1, choices.shape[1]), np.nan)])
        self.n_v, self.n_q = choices.shape
        if self.n_pool < 2:
            raise DataError(f"estimating who is right needs a pool of at least two models, got {self.n_pool}")
        if self.n_q == 0:
            raise DataError("estimating who is right needs at least one answered question")
        self.n_options = np.asarray(n_options).astype(np.int64)
        self.n_o = max(int(self.n_options.max()), 2)
        self.valid = np.arange(self.n_o)[None, :] < self.n_options[:, None]
        self.answered = (choices >= 0) & (choices < self.n_options[None, :])
        self.choices = np.where(self.answered, choices, 0)
        self.flat = (np.arange(self.n_q)[None, :] * self.n_o + self.choices)[self.answered]  # (n_votes,)
        self.z, self.has_conf = _zscore(confidence, self.answered)
        if subjects is None:
            self.subj, self.n_s = np.zeros(self.n_q, dtype=np.int64), 1
        else:
            _, self.subj = np.unique(np.asarray(subjects), return_inverse=True)
            self.n_s = int(self.subj.max()) + 1
        self.onehot = self.onehot32 = None
        if self.n_s <= ONEHOT_MAX_GROUPS:
            self.onehot = np.zeros((self.n_q, self.n_s))
            self.onehot[np.arange(self.n_q), self.subj] = 1.0
        # EM's layout: (O, Q) tables (an option's row over the questions, so a question's options are added and
        # compared elementwise, not along short rows) and what every iteration reads, computed once
        self.unanswered = ~self.answered
        self.all_answered = not self.unanswered.any()
        self.options_t = _OptionsT(np.ascontiguousarray(self.valid.T))
        pick = self.choices * self.n_q + np.arange(self.n_q)[None, :]  # (V, Q) index into an (O, Q) table
        self.flat_t = pick[self.answered]
        self.answered_q = np.ascontiguousarray(self.answered.T)  # (Q, V): the votes question after question
        self.flat_tq = pick.T[self.answered_q]
        # the (V, Q) arrays derived from the votes are laid out as the choices are (voter-major "C", or
        # question-major "F" as a table's transposed columns are); a sum over them adds in that layout's order,
        # so EM's buffers take it too; pick and unanswered_l are in it, transposed for "F"
        self.order = "F" if self.answered.flags.f_contiguous and not self.answered.flags.c_contiguous else "C"
        t = (lambda a: a) if self.order == "C" else (lambda a: a.T)
        self.pick, self.unanswered_l = np.ascontiguousarray(t(pick)), np.ascontiguousarray(t(self.unanswered))
        self.log_km2 = np.log(np.maximum(self.n_options - 2, 1).astype(np.float64)[None, :])
        self.log_pairs = np.log(np.maximum(self.n_options * (self.n_options - 1), 1))

    def by_subject(self, a: np.ndarray) -> np.ndarray:
        """(V, S): per voter, the sum of (V, Q) ``a`` over each subject's questions (np.bincount: O(V Q), where
        a one-hot product costs O(V Q S), which many fine groups make the bulk of the fit)."""
        if self.onehot is not None:  # few groups (subjects): one BLAS product is faster
            if a.dtype == np.float32:  # the M-step's residuals (M_STEP_DTYPE): a float32 product
                if self.onehot32 is None:
                    self.onehot32 = self.onehot.astype(np.float32)
                return a @ self.onehot32
            return a @ self.onehot
        return np.stack([np.bincount(self.subj, weights=row, minlength=self.n_s) for row in a])

    def votes(self, w: np.ndarray) -> np.ndarray:
        """(Q, O): per option, the sum of ``w`` over the voters that chose it (np.bincount, not np.add.at)."""
        out = np.bincount(self.flat, weights=w[self.answered], minlength=self.n_q * self.n_o)
        return out.reshape(self.n_q, self.n_o)

    def chosen(self, table_qo: np.ndarray) -> np.ndarray:
        """(V, Q): the entry of a (Q, O) table at the option each voter chose (0 where it did not answer)."""
        return np.where(self.answered, np.take_along_axis(table_qo.T, self.choices, axis=0), 0.0)

    def votes_t(self, w: np.ndarray) -> np.ndarray:
        """(O, Q): :meth:`votes` transposed (each entry the same sum, its voters added in the same order). A
        question-major ``w`` is read in its memory order: a question's votes still come voter after voter."""
        if w.flags.f_contiguous and not w.flags.c_contiguous:
            flat, weights = self.flat_tq, w.T[self.answered_q]
        else:
            flat, weights = self.flat_t, w[self.answered]
        return np.bincount(flat, weights=weights, minlength=self.n_q * self.n_o).reshape(self.n_o, self.n_q)

    def chosen_t(self, table_oq: np.ndarray) -> np.ndarray:
        """(V, Q): :meth:`chosen` of an (O, Q) table: the same entries in the same memory layout (the
        choices', :attr:`order`), which decides the order in which numpy adds them up."""
        out = np.take(table_oq, self.pick)
        if not self.all_answered:
            np.copyto(out, 0.0, where=self.unanswered_l)
        return out if self.order == "C" else out.T


def _zscore(confidence, answered):
    z = np.zeros(answered.shape)
    if confidence is None:
        return z, False
    conf = np.where(answered, confidence, np.nan).astype(np.float64)
    ok = np.isfinite(conf).any(axis=1)
    if not ok.any():
        return z, False
    with np.errstate(all="ignore"):
        med = np.nanmedian(conf[ok], axis=1, keepdims=True)
        mad = MAD_TO_SIGMA * np.nanmedian(np.abs(conf[ok] - med), axis=1, keepdims=True)
    zz = (conf[ok] - med) / np.where(mad > 1e-12, mad, 1.0)
    z[ok] = np.where(np.isfinite(zz), np.clip(zz, -4, 4), 0.0)
    return z, True


def _softmax_valid(logits, valid):
    logits = np.where(valid, logits, -np.inf)
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _eta(d: _Votes, theta, delta, beta, b):
    out = theta[:, None] + delta[:, d.subj]
    if d.has_conf:  # without confidences z is 0 (and beta stays 0): adding 0 changes no bit, so it is skipped
        out += beta[:, None] * d.z
    out -= b[None, :]
    return out


def _e_step(d: _Votes, p, rho, ans: np.ndarray | None = None, weights: np.ndarray | None = None,
            copies: "_Copies | None" = None):
    """Posterior over the truth (Q, O), over the distractor (Q, O) or None, and the log-likelihood; ``ans``
    (V, Q): the votes that count (default: every answered one; a voter left out is a row of False);
    ``weights`` (V,): each voter's votes count this much (:func:`dependence_weights`; default 1); ``copies``:
    voters that copy a parent's answer (:func:`copy_parents`; needs the distractor model)."""
    post, post_d, ll = _e_step_t(d, p, rho, ans, weights, copies)
    return np.ascontiguousarray(post.T), None if post_d is None else np.ascontiguousarray(post_d.T), ll


def _e_step_t(d: _Votes, p, rho, ans: np.ndarray | None = None, weights: np.ndarray | None = None,
              copies: "_Copies | None" = None):
    """:func:`_e_step` with the posteriors as (O, Q) tables (EM's layout, :func:`_pair_posteriors_t`): the same
    numbers. Only the answered votes' entries of ``p`` are read."""
    every = ans is None or ans is d.answered  # then the votes need no mask: only answered ones are read
    ans = d.answered if ans is None else ans
    wv = 1.0 if weights is None else np.asarray(weights, dtype=np.float64)[:, None]
    if rho is None:  # one-coin errors: uniform over the K - 1 wrong options
        km1 = np.maximum(d.n_options - 1, 1).astype(np.float64)[None, :]
        w = np.where(ans, wv * (np.log(p / (1 - p)) + np.log(km1)), 0.0)
        logits = np.where(d.valid, d.votes(w), -np.inf)
        base = np.where(ans, wv * (np.log(1 - p) - np.log(km1)), 0.0).sum(axis=0) - np.log(d.n_options)
        mx = logits.max(axis=1, keepdims=True)
        ll = float((base + mx[:, 0] + np.log(np.exp(logits - mx).sum(axis=1))).sum())
        return np.ascontiguousarray(_softmax_valid(logits, d.valid).T), None, ll
    if copies is not None:  # a copying voter's vote: its parent's answer or its own
        l_truth, l_distractor, l_other = (np.log(x) for x in copies.vote_probabilities(d, p, rho)[1])
        names_truth, names_distractor = l_truth - l_other, l_distractor - l_other
    else:
        # each logarithm taken once, those of rho per (voter, subject) before spreading them over the questions
        # (the same values, so the same bits as taking them per question); a weight of 1 is not multiplied in;
        # each sum in the order of ``log(1 - p) + log(1 - rho) - log(K - 2)``, written into its own temporary
        # the spread ones gathered by np.take, laid out voter-major as p is (an indexed gather along the questions
        # comes out question-major, and mixed layouts make every elementwise operation here several times slower)
        log_1mp = np.log(1 - p)
        l_other = np.take(np.log(1 - rho), d.subj, axis=1)
        l_other += log_1mp
        l_other -= d.log_km2
        names_truth = np.log(p)
        names_truth -= l_other
        names_distractor = np.take(np.log(rho), d.subj, axis=1)
        names_distractor += log_1mp
        names_distractor -= l_other
    if weights is not None:
        names_truth *= wv
        names_distractor *= wv
    if every:
        a, bb = d.votes_t(names_truth), d.votes_t(names_distractor)  # the vote names the truth / the distractor
    else:
        a, bb = d.votes_t(np.where(ans, names_truth, 0.0)), d.votes_t(np.where(ans, names_distractor, 0.0))
    post, post_d, log_z = _pair_posteriors_t(a, bb, d.options_t)
    base = _question_sums(np.where(ans, l_other if weights is None else wv * l_other, 0.0))
    base -= d.log_pairs
    ll = float((base + log_z).sum())
    return post, post_d, ll


class _Copies:
    """Voters that copy a parent's answer (:func:`copy_parents`) laid over the votes: each voter's parent
    (-1: none, the key never has one), its copy probability, and where it gave its parent's answer."""

    def __init__(self, d: _Votes, parents: np.ndarray, prob: np.ndarray):
        self.parent = np.full(d.n_v, -1, dtype=np.int64)
        self.parent[:len(parents)] = parents
        self.prob = np.zeros(d.n_v)
        self.prob[:len(prob)] = np.where(self.parent[:len(prob)] >= 0, prob, 0.0)
        has = self.parent >= 0
        par = np.where(has, self.parent, 0)
        self.both = has[:, None] & d.answered & d.answered[par]  # the parent answered too: a copy was possible
        self.agree = self.both & (d.choices == d.choices[par])

    def vote_probabilities(self, d: _Votes, p, rho):
        """Per vote (V, Q), the probability of naming the truth, the distractor and another option: answering
        on its own (the first three), and in all, copied or own (the last three)."""
        km2 = np.maximum(d.n_options - 2, 1).astype(np.float64)[None, :]
        kept = np.where(self.both, 1.0 - self.prob[:, None], 1.0)
        own = tuple(kept * o for o in (p, (1 - p) * rho[:, d.subj], (1 - p) * (1 - rho[:, d.subj]) / km2))
        copied = np.where(self.agree, self.prob[:, None], 0.0)
        return own, tuple(copied + o for o in own)

    def own_share(self, d: _Votes, p, rho, y, zd):
        """(V, Q) the expected share of each vote that was the voter's own, and of it the part that named the
        truth and the part that named the distractor (given the posterior's ``y`` and ``zd`` for the vote)."""
        own, total = self.vote_probabilities(d, p, rho)
        w_t, w_d, w_o = (o / x for o, x in zip(own, total))
        right, distractor = y * w_t, zd * w_d
        return right + distractor + np.clip(1.0 - y - zd, 0.0, None) * w_o, right, distractor

    def refit(self, own: np.ndarray) -> None:
        """Each copying voter's copy probability: its expected copied share where a copy was possible."""
        n = self.both.sum(axis=1)
        copied = np.where(self.both, 1.0 - own, 0.0).sum(axis=1)
        self.prob = np.where(self.parent >= 0, np.clip((copied + 1.0) / (n + 2.0), 0.0, COPY_MAX), 0.0)


def _pair_posteriors(a: np.ndarray, bb: np.ndarray, valid: np.ndarray):
    """The marginals over the truth and over the distractor (Q, O) and the log-normaliser (Q,) of the joint
    ``exp(a[q, t] + bb[q, d])`` over a question's (truth t, distractor d) pairs, ``t != d``, both among its
    options, in O(Q O) instead of summing the (Q, O, O) joint: the truth's marginal is ``exp(a[t])`` times
    the sum of ``exp(bb)`` over the other options (:func:`_log_sum_others_t`), the distractor's alike. Equal to
    the joint's sums to ~1e-14 (tests/rgd/test_truth_pair_posteriors.py). EM works on the transposed (O, Q)
    tables (:func:`_pair_posteriors_t`); this is it for (Q, O) ones."""
    post, post_d, log_z = _pair_posteriors_t(np.ascontiguousarray(a.T), np.ascontiguousarray(bb.T),
                                             _OptionsT(np.ascontiguousarray(valid.T)))
    return np.ascontiguousarray(post.T), np.ascontiguousarray(post_d.T), log_z


class _OptionsT:
    """Each question's options in EM's (O, Q) layout: ``valid`` (O, Q), as 0/1 floats, and whether every question
    has two or more (then every option's sum over the others is finite, :func:`_log_sum_others_t`)."""

    def __init__(self, valid: np.ndarray):
        self.valid = valid
        self.valid_f = valid.astype(np.float64)
        self.regular = bool((valid.sum(axis=0) >= 2).all())


def _pair_posteriors_t(a: np.ndarray, bb: np.ndarray, opts: _OptionsT):
    """:func:`_pair_posteriors` of (O, Q) tables (an option per row), returning (O, Q) marginals: every
    operation the same on the same numbers as on the (Q, O) tables, a question's sum over its options taken in
    np.sum's order (:func:`_sum_rows`), so the same bits, at a fraction of the cost: numpy reduces short rows
    slowly and elementwise operations over the options' rows quickly, and its SIMD ``exp`` and ``log`` take a
    slow path for infinities and zeros, so where every question has two options the entries of the options
    a question does not have are kept finite (0) through them and set after (0, as ``exp(-inf)``)."""
    valid, valid_f = opts.valid, opts.valid_f
    t = _log_sum_others_t(bb, opts)
    t += a  # a + (the sum over the other options), as a sum's two terms commute
    mx = np.where(valid, t, -np.inf).max(axis=0)
    if opts.regular:
        t -= mx
        t *= valid_f  # finite everywhere: 0 where no option (an exp of 1, zeroed after)
        post = np.exp(t, out=t)
        post *= valid_f
    else:
        post = np.exp(np.where(valid, t, -np.inf) - mx)
    tot = _sum_rows(post)
    log_z = mx + np.log(tot)
    post /= tot
    log_d = _log_sum_others_t(a, opts)
    log_d += bb
    if opts.regular:
        log_d -= log_z
        log_d *= valid_f
        post_d = np.exp(log_d, out=log_d)
        post_d *= valid_f
    else:
        post_d = np.exp(np.where(valid, log_d, -np.inf) - log_z)
    return post, post_d, log_z


def _sum_rows(x: np.ndarray) -> np.ndarray:
    """(Q,) the sums of (O, Q) ``x`` over its O rows, each question's O numbers added in the order ``np.sum``
    adds a contiguous row of them (numpy's pairwise summation: up to 7 numbers one after the other, from 8 on
    eight running sums combined as a tree, the rest after them), so the same bits as summing the (Q, O)
    transpose along its rows (tests/rgd/test_truth_pair_posteriors.py), in O elementwise additions."""
    n = len(x)
    if n > 128:  # numpy splits longer rows recursively; no question has that many options
        return np.ascontiguousarray(x.T).sum(axis=1)
    if n < 8:
        out = x[0] + 0.0
        for i in range(1, n):
            out += x[i]
        return out
    r = [x[j] for j in range(8)]  # views: each running sum becomes a new array at its first addition
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] = r[j] + x[i + j]
        i += 8
    out = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for k in range(i, n):
        out += x[k]
    return out


def _question_sums(a: np.ndarray) -> np.ndarray:
    """(Q,) ``a.sum(axis=0)`` of (V, Q) ``a``, the same bits: numpy adds a question-major array's column as a
    contiguous row (pairwise), which :func:`_sum_rows` does elementwise over the voters' rows at half the cost;
    a voter-major one row after row, as numpy is fast at."""
    return _sum_rows(a) if a.flags.f_contiguous and not a.flags.c_contiguous else a.sum(axis=0)


def _log_sum_others_t(v: np.ndarray, opts: _OptionsT) -> np.ndarray:
    """(O, Q): per option, ``log`` of the sum of ``exp(v)`` over the question's *other* options, shifted by
    the largest of those (the question's maximum, or for the maximum itself the runner-up), so no term
    underflows and nothing is cancelled but the option's own term against a sum of at least 1. ``v``: (O, Q);
    the maximum is the first one, as ``argmax`` takes it. Where every question has two options
    (``opts.regular``) the exponentials of the options a question lacks are taken of 0 and zeroed after (the
    same numbers as ``exp(-inf)``, without numpy's slow path for infinities)."""
    valid = opts.valid
    vv = np.where(valid, v, -np.inf)
    n_o, n_q = vv.shape
    mx = vv.max(axis=0)
    top = np.full(n_q, n_o - 1)
    for o in range(n_o - 2, -1, -1):  # the first option at the maximum
        top[vv[o] == mx] = o
    at_top = top * n_q + np.arange(n_q)
    flat = vv.reshape(-1)
    m1 = flat[at_top]
    e1 = _exp_valid(v - m1, opts) if opts.regular else np.exp(vv - m1)
    # the same operations as ``m1 + log(max(sum - e1, 0))``, each into e1's buffer (fewer fresh (O, Q) arrays:
    # a third of the time), >= 1 except at the maximum, which is computed apart
    out = np.subtract(_sum_rows(e1), e1, out=e1)
    flat[at_top] = -np.inf
    m2 = vv.max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(np.maximum(out, 0.0, out=out), out=out)
        out += m1
        if opts.regular:  # the maximum's own term left out as exp(-inf) would
            x = np.subtract(v, m2, out=vv)  # vv is read no more
            x.reshape(-1)[at_top] = 0.0
            e2 = _exp_valid(x, opts)
            e2.reshape(-1)[at_top] = 0.0
        else:
            e2 = np.exp(vv - m2)
        out.reshape(-1)[at_top] = m2 + np.log(_sum_rows(e2))
    return out


def _exp_valid(x: np.ndarray, opts: _OptionsT) -> np.ndarray:
    """``exp`` of finite (O, Q) ``x`` at the options a question has, 0 at the others (in ``x``'s buffer)."""
    x *= opts.valid_f
    np.exp(x, out=x)
    x *= opts.valid_f
    return x


def estimate_truth(
    choices: np.ndarray,
    n_options: np.ndarray,
    confidence: np.ndarray | None = None,
    key: np.ndarray | None = None,
    subjects: np.ndarray | None = None,
    *,
    model: str = "irt",
    distractor: bool = True,
    subject_prior: float | None = 0.5,
    subject_rho: float | None = 50.0,
    n_iter: int = 20,
    difficulty_prior: float = 1.0,
    ability_prior: float = 3.0,
    fixed: dict | None = None,
    start: np.ndarray | None = None,
    voter_weights: np.ndarray | None = None,
    copies: tuple[np.ndarray, np.ndarray] | None = None,
) -> TruthEstimate:
    """Estimate the truth from the votes alone.

    Args:
        choices: (M, Q) int, option index per pool model and question, -1 = no answer (an index beyond the
            question's options also counts as no answer).
        n_options: (Q,) int, number of options of each question.
        confidence: optional (M, Q) float, NaN where unknown (z-scored per voter here).
        key: optional (Q,) int, the generator's key (-1 = none); it becomes voter ``M``.
        subjects: optional (Q,) labels; with ``subject_prior`` each voter gets per-subject offsets.
        model: ``"irt"`` (ability - difficulty), ``"onecoin"`` (ability only) or ``"majority"`` (no EM).
        distractor: the popular-distractor error model (else uniform errors over the K - 1 wrong options).
        subject_prior: prior s.d. of per-subject ability offsets (None: none).
        subject_rho: prior pseudo-count of per-subject distractor rates (None: one rate per voter).
        n_iter: EM iterations.
        difficulty_prior / ability_prior: prior s.d. of difficulties / abilities.
        fixed: voter parameters to keep (``theta``, ``delta``, ``beta``, ``rho`` from a previous fit's
            ``params``): only the questions' difficulties are estimated (used by :func:`heldout_loglik`).
        start: optional (Q, O) posterior EM starts from (default: the sharpened plain majority; see
            :func:`estimate_truth_restarts`).
        voter_weights: optional (M,) or, with a key, (M + 1,) weights in (0, 1] of each voter's votes in the
            posterior (:func:`dependence_weights`; the key, when not given one, counts fully).
        copies: optional ``(parents, prob)`` of the pool models (:func:`copy_parents`): a model with a parent
            gives its parent's answer with probability ``prob`` (refitted here from that start), else answers on
            its own; only its own answers are evidence about the truth. Needs the distractor error model.
    """
    if model not in ("irt", "onecoin", "majority"):
        raise ParameterError(f"model must be 'irt', 'onecoin' or 'majority', got {model!r}")
    if n_iter < 0:
        raise ParameterError(f"n_iter must be >= 0, got {n_iter}")
    for label, v in (("subject_prior", subject_prior), ("subject_rho", subject_rho),
                     ("difficulty_prior", difficulty_prior), ("ability_prior", ability_prior)):
        if v is not None and not v > 0:
            raise ParameterError(f"{label} must be > 0 (or None where allowed), got {v}")
    # EM reads the votes voter-major: a question-major table (a recorded table's transposed columns) is copied
    # once, since numpy broadcasts and sums over (voters, questions) arrays several times faster in that layout
    d = _Votes(np.ascontiguousarray(choices), n_options, confidence, key, subjects)
    weights = _check_weights(voter_weights, d)
    distinct = _distinct_weights(d)  # identical answer sheets count once, in the start and in the posterior
    if distinct is not None:
        weights = distinct if weights is None else np.minimum(weights, distinct)
    ans = d.answered
    cp = None
    if copies is not None:
        if not distractor or model == "majority":
            raise ParameterError("copies need the popular-distractor error model (distractor=True) and EM")
        cp = _Copies(d, *(np.asarray(a) for a in copies))
    if start is None:
        # start: a sharpened majority of the distinct answer sheets
        post = _softmax_valid(d.votes(ans * (1.0 if distinct is None else distinct[:, None])) * 2.0, d.valid)
    else:
        post = np.asarray(start, dtype=np.float64)
        if post.shape != (d.n_q, d.n_o):
            raise ParameterError(f"start must be (questions, options) = {(d.n_q, d.n_o)}, got {post.shape}")
    theta, beta, b = np.zeros(d.n_v), np.zeros(d.n_v), np.zeros(d.n_q)
    delta = np.zeros((d.n_v, d.n_s))
    rho = np.full((d.n_v, d.n_s), 0.3) if distractor else None
    if fixed:
        theta, delta, beta = fixed["theta"].copy(), fixed["delta"].copy(), fixed["beta"].copy()
        rho = None if fixed.get("rho") is None else fixed["rho"].copy()
    use_delta = subject_prior is not None and subjects is not None and not fixed
    irt = model == "irt"
    if model == "majority":
        n_iter = 0
    ll = float("nan")
    if cp is not None:  # the copies' first M-step weighs the votes by the starting parameters
        p = np.clip(_sigmoid(_eta(d, theta, delta, beta, b if irt else 0 * b)), 1e-4, 1 - 1e-4)
    # EM in (O, Q) tables (:func:`_e_step_t`); the M-step's probabilities from a :class:`_Predictor`, whose
    # buffer after an iteration holds those at the next iteration's first parameters (unchanged in between);
    # without copies they are 0 where no vote was cast, so the residuals need no mask
    post_t = np.ascontiguousarray(post.T)
    post_d_t = None
    # without copies the M-step works in M_STEP_DTYPE (float32): a Newton step on sums of residuals needs no
    # more, and numpy's exp, divisions and broadcasts take half the time; the E-step stays float64
    pred = _Predictor(d, unanswered_zero=cp is None, dtype=M_STEP_DTYPE if cp is None else np.float64)
    fast = pred.unanswered_zero
    m_dtype = pred.out.dtype
    # the E-step's P(right) in float64 from the parameters: at the votes cast, what posterior_given computes
    pred_e = _Predictor(d, unanswered_zero=True) if m_dtype != np.float64 else None
    pred.set_voters(theta, delta, beta)
    current = None  # the predictor's buffer at the current parameters, or None
    # the difficulties are fitted from every voter's residuals: an identical sheet's count once there too
    sheet_w = None if distinct is None else distinct[:, None].astype(m_dtype)
    r_buf = np.empty((d.n_v, d.n_q), dtype=m_dtype, order=d.order)
    h_buf = np.empty((d.n_v, d.n_q), dtype=m_dtype, order=d.order)
    for _ in range(n_iter):
        # M-step: a few Newton steps of the logistic regression of each vote's expected correctness (with
        # copies: of its own share, the copied share being no evidence of the voter's skill)
        y = d.chosen_t(post_t)
        y_fit = y.astype(m_dtype, copy=False)  # what the Newton steps fit
        own = None
        if cp is not None:
            zd = d.chosen_t(post_d_t) if post_d_t is not None else (1.0 - y) * rho[:, d.subj]
            own, y_own, zd_own = cp.own_share(d, p, rho, y, zd)
        fit = (y_fit, None, None) if own is None else (y, own, y_own)
        for _ in range(3):
            if not fixed:
                p = pred(b if irt else 0 * b) if current is None else current
                current = None
                r, h = _fast_residuals(p, y_fit, r_buf, h_buf) if fast else _residuals(ans, p, *fit)
                theta = theta + (r.sum(axis=1) - theta / ability_prior**2) / (h.sum(axis=1) + 1 / ability_prior**2)
                pred.set_voters(theta, delta, beta)
                if use_delta:  # after theta's step (a joint step on both overshoots)
                    p = pred(b if irt else 0 * b)
                    r, h = _fast_residuals(p, y_fit, r_buf, h_buf) if fast else _residuals(ans, p, *fit)
                    g = d.by_subject(r) - delta / subject_prior**2
                    delta = delta + g / (d.by_subject(h) + 1 / subject_prior**2)
                if d.has_conf:
                    beta = beta + ((r * d.z).sum(axis=1) - beta) / ((h * d.z * d.z).sum(axis=1) + 1.0)
                if use_delta or d.has_conf:
                    pred.set_voters(theta, delta, beta)
            if irt:
                p = pred(b) if current is None else current
                current = None
                r, h = _fast_residuals(p, y_fit, r_buf, h_buf) if fast else _residuals(ans, p, *fit)
                if sheet_w is not None:
                    r, h = r * sheet_w, h * sheet_w
                b = b + (-_question_sums(r) - b / difficulty_prior**2) / (_question_sums(h) + 1 / difficulty_prior**2)
        current = pred(b if irt else 0 * b)  # the next iteration's first Newton step's
        if pred_e is not None:
            pred_e.set_voters(theta, delta, beta)
            p = np.clip(pred_e(b if irt else 0 * b), 1e-4, 1 - 1e-4)
        else:
            p = np.clip(current, 1e-4, 1 - 1e-4)
        if cp is not None and post_d_t is not None and not fixed:
            cp.refit(own)
        if rho is not None and post_d_t is not None and not fixed:
            zd = d.chosen_t(post_d_t) if own is None else zd_own
            wrong = np.where(ans, 1.0 - y if own is None else own - y_own, 0.0)
            rho_v = (zd.sum(axis=1) + 1.0) / (wrong.sum(axis=1) + 2.0)  # Beta(1, 1) prior
            if subject_rho is not None and subjects is not None:  # per subject, shrunk to the voter's rate
                rho = (d.by_subject(zd) + subject_rho * rho_v[:, None]) / (d.by_subject(wrong) + subject_rho)
            else:
                rho = np.repeat(rho_v[:, None], d.n_s, axis=1)
            rho = np.clip(rho, 0.02, 0.98)
        post_t, post_d_t, ll = _e_step_t(d, p, rho, weights=weights, copies=cp)
    scores = d.chosen_t(post_t)
    params = {"theta": theta, "delta": delta, "beta": beta, "rho": rho, "model": model, "voter_weights": weights,
              "copies": None if cp is None else (cp.parent[:d.n_pool], cp.prob[:d.n_pool])}
    return TruthEstimate(np.ascontiguousarray(post_t.T), scores.sum(axis=1) / d.n_q, scores, theta, b, rho, ll,
                         d.n_pool, params)


class _Predictor:
    """Every vote's P(right), ``sigmoid(theta_v + delta_v,s(q) + beta_v z_vq - b_q)``, for the M-step: the
    voters' part kept until a voter parameter changes (a difficulty step reuses it) and evaluated into one
    buffer as ``1 / (1 + exp(b_q - voters' part))``: the operations of :func:`_sigmoid` of :func:`_eta` on the
    same numbers (``b - x`` is exactly ``-(x - b)``), so the same bits. ``unanswered_zero``: 0 where no vote
    was cast (times a 0/1 mask; :func:`_fast_residuals` then needs no mask), laid out as the choices (as the
    residuals it feeds); without it question-major, as :func:`_eta` is (numpy lays a gather along the second
    axis out so), so that what the copy model derives from it is laid out, and summed, as before. ``dtype``:
    the buffers' (:data:`M_STEP_DTYPE` for EM without copies), the parameters cast to it as they come in."""

    def __init__(self, d: _Votes, unanswered_zero: bool, dtype=np.float64):
        self.d = d
        self.unanswered_zero = unanswered_zero
        order = d.order if unanswered_zero else "F"
        self.voters = np.empty((d.n_v, d.n_q), dtype=dtype, order=order)
        self.out = np.empty((d.n_v, d.n_q), dtype=dtype, order=order)
        self.answered_f = d.answered.astype(dtype, order=order) if unanswered_zero else None

    def set_voters(self, theta, delta, beta) -> None:
        if self.voters.flags.c_contiguous:  # (delta + theta)[:, subj]: each entry the same sum, added per subject
            np.take((delta + theta[:, None]).astype(self.voters.dtype, copy=False), self.d.subj, axis=1,
                    out=self.voters)
        else:
            np.add(theta[:, None], delta[:, self.d.subj], out=self.voters)
        if self.d.has_conf:
            self.voters += beta[:, None] * self.d.z

    def __call__(self, b: np.ndarray) -> np.ndarray:
        out = np.subtract(b.astype(self.out.dtype, copy=False)[None, :], self.voters, out=self.out)
        np.exp(out, out=out)
        out += 1.0
        np.divide(1.0, out, out=out)
        if self.unanswered_zero and not self.d.all_answered:
            out *= self.answered_f  # P(right) > 0, so 0 exactly where no vote
        return out


def _fast_residuals(p, y, r, h):
    """:func:`_residuals` without copies where ``p`` and ``y`` are 0 where no vote was cast (then so are
    ``y - p`` and ``p (1 - p)``, as the mask would make them), into the buffers ``r`` and ``h``."""
    np.subtract(y, p, out=r)
    np.subtract(1.0, p, out=h)
    h *= p
    return r, h


def _residuals(ans, p, y, own=None, y_own=None):
    """The M-step's residuals and curvatures per vote: of its expected correctness ``y``, or with copies of
    its own share ``own``, of which ``y_own`` named the truth."""
    if own is None:
        return np.where(ans, y - p, 0.0), np.where(ans, p * (1 - p), 0.0)
    return np.where(ans, y_own - own * p, 0.0), np.where(ans, own * p * (1 - p), 0.0)


def _distinct_weights(d: _Votes) -> np.ndarray | None:
    """(V,) :func:`duplicate_weights` of the pool's voters (the key, when given, counts fully), or None."""
    dup = duplicate_weights(np.where(d.answered, d.choices, -1)[: d.n_pool])
    return None if dup is None else np.append(dup, np.ones(d.n_v - d.n_pool))


def _check_weights(voter_weights, d: _Votes) -> np.ndarray | None:
    if voter_weights is None:
        return None
    w = np.asarray(voter_weights, dtype=np.float64)
    if w.shape == (d.n_pool,) and d.n_v == d.n_pool + 1:
        w = np.append(w, 1.0)  # the key counts fully
    if w.shape != (d.n_v,) or not np.isfinite(w).all() or (w <= 0).any() or (w > 1).any():
        raise ParameterError(f"voter_weights must be {d.n_v} (or {d.n_pool}) weights in (0, 1], got shape "
                             f"{w.shape}")
    return w


#: pairs of pool models need this many questions both answered against the key to measure their coincidence
DEPENDENCE_MIN_QUESTIONS = 30


def dependence_weights(choices: np.ndarray, key: np.ndarray) -> np.ndarray:
    """(M,) how much each pool model's votes count when some models copy others' errors, seen through the key.

    The generator is a model outside the pool, so where two pool models both disagree with its key they are,
    as far as the key can tell, both wrong; how often they then give the *same* answer is their error
    coincidence. Independent models coincide at the pool's base rate (popular distractors: the lowest
    coincidence of any pair, the most independent pair's), a model and its derivatives far above it. A pair's
    excess ``e = (c - c0) / (1 - c0)`` (0 at the base rate, 1 for exact copies) discounts both: a model's
    weight is ``1 / (1 + sum of its excesses)``, so a model with ``k`` exact copies and the copies count as
    one voter together, and a model with none counts fully. Without the key the dependence cannot be seen
    (a crowd that shares its errors looks as right as one that is right: the fitted model explains their
    agreement by both being right), so weights come only with a key; and a key the estimate then rates below
    the pool's runner-up (:func:`key_is_arbiter`) marks right answers as wrong too often for its coincidences
    to mean errors, which is why the router refits without key and weights in that case (measured on
    recorded pools with each generator's keys: benchmarks/README.md). Pairs with fewer than
    :data:`DEPENDENCE_MIN_QUESTIONS` such questions count as independent. Label-free: the key is the
    generator's answer, data.
    """
    choices = np.asarray(choices).astype(np.int64)
    key = np.asarray(key).astype(np.int64)
    if choices.ndim != 2 or key.shape != (choices.shape[1],):
        raise ParameterError(f"choices (models, questions) and a key per question, got {choices.shape} and "
                             f"{key.shape}")
    excess = np.nan_to_num(_coincidence_excess(choices, key[None, :])[0], nan=0.0)
    return 1.0 / (1.0 + excess.sum(axis=1))


def _coincidence_excess(choices: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """(R, M, M) each pair of models' error coincidence seen through each reference (a row of ``refs``: a key
    or another model's answers), in excess of the base rate ``c0``: ``(c - c0) / (1 - c0)`` clipped to [0, 1],
    with ``c`` how often the two give the same answer where both answer and both differ from the reference. NaN
    where a pair has fewer than :data:`DEPENDENCE_MIN_QUESTIONS` such questions (a model and itself, or a model
    against a reference that is its own answers, are never measured).

    A reference's base rate is the coincidence of the most independent pair seen through it, or the median of
    the references' base rates where that is lower. Why the cap: seen through the one model outside a family (a
    strong model beside a base model and its derivatives), every pair is a pair of the family, so its most
    independent pair is a copy pair and would hide the family's copying from the smallest excess over the
    references (:func:`copy_excess`); in such a pool most references see a pair with an outsider in it. Elsewhere
    it lowers the base rate of the references above the median and so raises the excess a little: a pool's
    largest by 0.075 (median over the random pools of the recorded models, whose largest stays 0.39; 0.250 ->
    0.251 on the 12-model pack: benchmarks/README.md, "Fourteenth session")."""
    answered = choices >= 0
    same_answer = (choices[:, None, :] == choices[None, :, :]) & answered[:, None, :] & answered[None, :, :]
    off = answered[None, :, :] & (refs[:, None, :] >= 0) & (choices[None, :, :] != refs[:, None, :])  # (R, M, Q)
    off_f = off.astype(np.float32)  # counts below 2**24 are exact in float32
    both = np.matmul(off_f, off_f.transpose(0, 2, 1)).astype(np.float64)  # (R, M, M), batched BLAS
    # where two models give the same answer, both are off the reference exactly when the first is
    same = np.matmul(same_answer.astype(np.float32), off_f.transpose(1, 2, 0)).transpose(2, 0, 1).astype(np.float64)
    n_m = choices.shape[0]
    measured = (both >= DEPENDENCE_MIN_QUESTIONS) & ~np.eye(n_m, dtype=bool)[None]
    with np.errstate(invalid="ignore", divide="ignore"):
        coincidence = np.where(measured, same / np.maximum(both, 1.0), np.nan)
    lowest = np.array([np.nanmin(c) if np.isfinite(c).any() else np.nan for c in coincidence])
    if np.isfinite(lowest).any():  # a reference's base rate at most the references' median base rate
        lowest = np.minimum(lowest, np.nanmedian(lowest))
    lowest = lowest[:, None, None]
    excess = np.clip((coincidence - lowest) / np.maximum(1.0 - lowest, 1e-12), 0.0, 1.0)
    return np.where(measured, excess, np.nan)


#: a pair of models copies each other's errors from this excess on (:func:`copy_excess`). The stress suite's
#: partial copies (30-60% of a weak model's answers) measure 0.37-0.72 against their source (0.2-0.7 before the
#: base rate was capped); unrelated recorded models at most 0.39 (two
#: strong ones, gemini-1.5-pro and Llama-3-70B, right together where others err). Set just above what unrelated
#: models were measured to reach. A settled leader has no such partner (:func:`identifiability`: a closer one costs
#: a warning and a few labels between it and the alternative, never a different routing), and models linked by
#: copies into a group of :data:`COPY_GROUP_MIN` share one vote (:func:`copy_group_weights`)
COPY_EXCESS = 0.4
#: the fewest models a copy group must have for its members to share one vote: two strong models can reach
#: :data:`COPY_EXCESS` together where no third model is right with them, but in a group of three every link has
#: also been measured through a fellow member, which an independent model right where the pair is right would
#: have cut
COPY_GROUP_MIN = 3


#: the fewest references a pair's :func:`copy_excess` must be seen through: through one alone (a pool of three
#: models, no key) two models right together where that reference errs look like copies, and no second reference
#: can cut it (measured on the frontier suite: benchmarks/README.md, "Fourteenth session")
COPY_MIN_REFERENCES = 2


def copy_excess(choices: np.ndarray, key: np.ndarray | None = None,
                min_references: int = COPY_MIN_REFERENCES) -> np.ndarray:
    """(M, M) how far each pair of pool models copies each other's errors, seen through every other voter:
    0 for models that err on their own (the pool's base rate), 1 for exact copies. Label-free.

    :func:`dependence_weights` sees errors through the generator's key, which needs a key that is right where
    the pool is wrong. Without one, every other pool model (and the key, when given) serves as a reference, and
    a pair's excess coincidence is the *smallest* over the references that measure it (0 where fewer than
    ``min_references``, by default :data:`COPY_MIN_REFERENCES`, do): a model and its copy
    give the same answer off every reference (copying does not depend on who judges), while two strong models
    coincide off a reference mostly where both are right, which a strong reference rarely leaves them: where
    errors gather on the hard questions (as on real benchmarks), a strong reference is wrong where they are
    wrong too, each in its own way. So a crowd that shares errors shows up here even when it outvotes the truth,
    which the fitted model cannot see (it explains the crowd's agreement by the crowd being right). Its limit:
    two strong models with no third one right where they are still coincide where both are right (measured on
    the recorded models: up to 0.39, gemini-1.5-pro with Llama-3-70B; with errors spread at random over the
    questions, more). What it is used for: :func:`identifiability` does not call a leader settled that has a
    partner above :data:`COPY_EXCESS` (benchmarks/README.md, "Pools it was not developed on").
    """
    choices = np.asarray(choices).astype(np.int64)
    if choices.ndim != 2:
        raise ParameterError(f"choices must be (models, questions), got shape {choices.shape}")
    refs = choices if key is None else np.vstack([choices, np.asarray(key).astype(np.int64)[None, :]])
    excess = _coincidence_excess(choices, refs)
    measured = np.isfinite(excess)
    smallest = np.where(measured, excess, np.inf).min(axis=0)
    out = np.where(measured.sum(axis=0) >= min_references, smallest, 0.0)
    out[_identical_sheets(choices)] = 1.0  # an exact copy is one whatever the references: in a pool of three too
    return out


def duplicate_weights(choices: np.ndarray) -> np.ndarray | None:
    """(M,) each pool model's vote weight where some give the same answers on every question, or None where none
    do: ``1 / k`` for each of ``k`` identical answer sheets (one voter under ``k`` names: a model served twice, a
    file recorded twice), 1 elsewhere. The estimate takes voters to err independently; an identical sheet is no
    second opinion, and counted twice it outvotes a strong model in a small pool (measured: gemini-1.5-pro with
    three weak models and a second copy of one of them went to that weak model, -41 points; benchmarks/README.md,
    "Fifteenth session"). Label-free."""
    same = _identical_sheets(np.asarray(choices).astype(np.int64))
    if not same.any():
        return None
    return 1.0 / (1.0 + same.sum(axis=1))


#: the questions :func:`_identical_sheets` first compares every pair of answer sheets on, and the random integer
#: projection that groups the sheets by their answers there
SHEET_SAMPLE = 64
_SHEET_PROJECTION = np.random.default_rng(0x5EE7).integers(1, 2**20, SHEET_SAMPLE)


def _identical_sheets(choices: np.ndarray) -> np.ndarray:
    """(M, M) mask of the pairs of distinct models whose answers are the same on every question (a missing answer
    where the other misses it too) and who both answer at least :data:`DEPENDENCE_MIN_QUESTIONS`: the same voter
    under two names (one model served twice, or its answers recorded twice). Sheets are grouped by their answers
    to :data:`SHEET_SAMPLE` evenly spread questions first (identical sheets agree there), then compared whole
    within a group: cheap enough for every EM fit to check."""
    n_m, n_q = choices.shape
    out = np.zeros((n_m, n_m), dtype=bool)
    if n_m < 2 or n_q == 0:
        return out
    sample = choices[:, np.linspace(0, n_q - 1, min(SHEET_SAMPLE, n_q)).astype(np.intp)].astype(np.int64) + 2
    # one integer per sheet, a random projection of its sample (exact: equal samples give equal integers), grouped
    _, group = np.unique(sample @ _SHEET_PROJECTION[: sample.shape[1]], return_inverse=True)
    answered = (choices >= 0).sum(axis=1) >= DEPENDENCE_MIN_QUESTIONS
    for g in np.flatnonzero(np.bincount(group) > 1):  # a loop over sheets that agree on the sample (usually none)
        members = np.flatnonzero((group == g) & answered)
        same = (choices[members][:, None, :] == choices[members][None, :, :]).all(axis=2)
        out[np.ix_(members, members)] = same
    np.fill_diagonal(out, False)
    return out


def copy_group_weights(excess: np.ndarray, link: float = COPY_EXCESS) -> np.ndarray | None:
    """(M,) each pool model's vote weight when some models copy others' errors, or None when none do; ``excess``:
    the pool's (M, M) :func:`copy_excess`. Label-free.

    Models linked by a chain of copies (``excess`` at ``link`` or beyond: :data:`COPY_EXCESS`, or
    :data:`COPY_LINK` for the trees of the copy model, :func:`copy_parents`) form a group; in a
    group of at least :data:`COPY_GROUP_MIN` each member's votes count ``1 / size``, so the group counts as one
    voter, and every other model fully. Why: the truth estimate takes voters to err independently given the
    truth, so a crowd of derivatives of one base model (fine-tunes, quantised variants) that repeats its
    misconceptions outvotes a lone strong model and is taken to be right; seen through every other voter their
    errors coincide whoever judges, which two models that are merely right together do not (measured on the
    stress suite and random pools of the recorded models: benchmarks/README.md, "Copy groups"). Its limit: where
    strong models' errors fall at random rather than on the hard questions, no other voter is right where they
    err together, so models right together link into a group too and sharing one vote hands the pool to the weak
    rest (the frontier suite, :func:`rgd.evaluation.stress.frontier_suite`). Seen through a strong generator's
    key it holds; without one the product's router fits the copy model and tries the group only as an EM start
    (:class:`rgd.routers.truth_cluster.TruthClusterRouter`)."""
    excess = np.asarray(excess)
    n_m = len(excess)
    if excess.shape != (n_m, n_m):
        raise ParameterError(f"excess must be a square (models, models) matrix, got shape {excess.shape}")
    if n_m < COPY_GROUP_MIN:
        return None
    linked = (excess >= link) | np.eye(n_m, dtype=bool)
    for _ in range(int(np.ceil(np.log2(n_m)))):  # transitive closure by squaring: chains of up to M links
        linked = (linked.astype(np.int64) @ linked.astype(np.int64)) > 0
    size = linked.sum(axis=1)
    if not (size >= COPY_GROUP_MIN).any():
        return None
    return np.where(size >= COPY_GROUP_MIN, 1.0 / size, 1.0)


#: a pool model is taken to copy another (:func:`copy_parents`) from this :func:`copy_excess` on, within a tree of
#: links of at least :data:`COPY_GROUP_MIN` models (a pair alone never: two strong models reach 0.39 together).
#: Below :data:`COPY_EXCESS`, as the copy model fits how much is copied where the share-one-vote rule would
#: need a full copy; 0.2 links unrelated recorded models into trees and cost random pools up to 21 points
#: (benchmarks/README.md, "A copy model")
COPY_LINK = 0.3
#: the largest copy probability fitted: a voter that copies everything would carry no vote of its own to fit
COPY_MAX = 0.95


def copy_parents(excess: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(parents, prob)`` of the pool models (parent index, -1 for none; the copy probability to start EM
    from: the pair's excess), or None when no model copies another; ``excess``: the (M, M) :func:`copy_excess`.
    Label-free.

    The links at :data:`COPY_LINK` or beyond, strongest first, make a spanning forest (each model's copies
    come from one parent, so no model's votes are discounted twice, and no cycle: the answers stay a proper
    distribution); trees of fewer than :data:`COPY_GROUP_MIN` models are dropped, and each tree hangs from
    the model with the largest summed excess, which in a base model with derivatives is the base. With a parent,
    a model's vote is evidence about the truth only where it was its own (:func:`estimate_truth`'s
    ``copies``), so a crowd of partial copies of one model counts once with what each adds of its own."""
    excess = np.asarray(excess, dtype=np.float64)
    n_m = len(excess)
    if excess.shape != (n_m, n_m):
        raise ParameterError(f"excess must be a square (models, models) matrix, got shape {excess.shape}")
    links = np.where(excess >= COPY_LINK, excess, 0.0)
    upper = np.triu(links, 1)
    rows, cols = np.nonzero(upper)
    tree = np.arange(n_m)  # union-find over the models (a loop over links, at most M (M - 1) / 2)
    neighbours: list[list[int]] = [[] for _ in range(n_m)]
    for k in np.argsort(-upper[rows, cols], kind="stable"):
        i, j = int(rows[k]), int(cols[k])
        ri, rj = _root(tree, i), _root(tree, j)
        if ri != rj:
            tree[ri] = rj
            neighbours[i].append(j)
            neighbours[j].append(i)
    roots = np.array([_root(tree, i) for i in range(n_m)])
    size = np.bincount(roots, minlength=n_m)[roots]
    parents, prob = np.full(n_m, -1, dtype=np.int64), np.zeros(n_m)
    strength = links.sum(axis=1)
    seen = size < COPY_GROUP_MIN
    for top in np.argsort(-strength, kind="stable"):
        if seen[top]:
            continue
        seen[top], stack = True, [int(top)]
        while stack:
            u = stack.pop()
            for v in neighbours[u]:
                if not seen[v]:
                    seen[v], parents[v], prob[v] = True, u, excess[u, v]
                    stack.append(v)
    return (parents, prob) if (parents >= 0).any() else None


def _root(tree: np.ndarray, i: int) -> int:
    while tree[i] != i:
        i = int(tree[i])
    return i


def _columns(a, m):
    """The questions ``m`` (a mask or indices) of an optional per-question array: (Q,) or (voters, Q)."""
    return None if a is None else np.asarray(a)[..., m]


#: the EM restart (:func:`estimate_truth_restarts`): the sample and iterations its two starts are compared on,
#: and the per-question log-likelihood by which the runner-up's start must beat the leader's (measured on
#: MMLU-Pro pools: below 1e-3 where both starts reach one answer, 4e-3 where they reach two)
RESTART_SAMPLE = 2000
RESTART_EM_ITERATIONS = 10
RESTART_MIN_GAIN = 2e-3
#: the name of the restart led by the generator's key (:func:`key_start`) in ``params["start"]``
KEY_START = "generator key"


def led_start(choices, n_options, voter: int, key=None, confidence=None, weight: float = 2.0) -> np.ndarray:
    """(Q, O) an EM start in which ``voter`` (an index among the voters, the key last) counts ``weight`` times
    in the sharpened majority (of the distinct answer sheets, as :func:`estimate_truth` starts): at 2, where the
    strongest voters disagree, EM starts on that voter's side; at the pool's size (:func:`key_start`), the voter
    counts as much as the whole pool wherever it answered."""
    d = _Votes(choices, n_options, confidence, key, None)
    distinct = _distinct_weights(d)
    w = d.answered * (1.0 if distinct is None else distinct[:, None])
    w[voter] = d.answered[voter] * weight
    return _softmax_valid(d.votes(w) * 2.0, d.valid)


def key_start(choices, n_options, key, confidence=None) -> np.ndarray:
    """(Q, O) RGD's own hypothesis as an EM start: the generator's key counts as much as the whole pool wherever
    it answered (:func:`led_start` with the key weighted as many times as there are pool models: its option
    leads unless every pool model agrees against it), as sharp as any other start; the pool's majority
    elsewhere."""
    n_pool = np.asarray(choices).shape[0]
    return led_start(choices, n_options, n_pool, key=key, confidence=confidence, weight=float(n_pool))


def estimate_truth_restarts(choices, n_options, confidence=None, key=None, subjects=None, *, seed: int = 0,
                            **kw) -> TruthEstimate:
    """:func:`estimate_truth`, refitted from the runner-up's side when the votes say the leader's is wrong.

    EM from the plain majority can settle on the wrong one of two self-consistent answers: with few voters,
    two strong voters that disagree are told apart only by the weak rest, and weak voters that share wrong
    answers with the weaker strong voter make it look right (measured on MMLU-Pro: with Llama-2-7b,
    Mixtral-8x7B and gemini-1.5-pro as the pool it ranked Mixtral, true accuracy 0.42, above gemini, 0.70).
    So the two first-ranked voters of the majority-started fit each lead one more start (:func:`led_start`),
    compared by the likelihood of the answers on a seeded sample (:data:`RESTART_SAMPLE` questions,
    :data:`RESTART_EM_ITERATIONS` iterations; both starts are equally sharp, so neither is favoured by
    converging faster). With a generator's ``key`` and a pool with copies (``voter_weights`` or ``copies``), the
    hypothesis RGD itself makes, that the key is right, is a third start (:func:`key_start`): a crowd of copies
    can hold the majority start, and both leaders' starts, on its side while the key's side has the higher
    likelihood (measured: a clone pool with a strong
    generator's keys, -6.42 against -6.38 nats a question, benchmarks/README.md). Only when the best other start
    wins by :data:`RESTART_MIN_GAIN` nats a question is the estimate refitted from it on every question, and it
    is kept only if its likelihood is higher. Label-free: the votes' likelihood decides. Cost: two sample fits
    (three with a key), and a refit only where a start reaches a different answer.
    """
    first = estimate_truth(choices, n_options, confidence, key, subjects, **kw)
    n_q = first.posterior.shape[0]
    rows = np.arange(n_q)
    if n_q > RESTART_SAMPLE:
        rows = np.sort(np.random.default_rng([seed, 0x57A7]).choice(n_q, RESTART_SAMPLE, replace=False))

    sample_kw = {**kw, "n_iter": min(RESTART_EM_ITERATIONS, kw.get("n_iter", 20))}
    sample = (_columns(choices, rows), _columns(n_options, rows), _columns(confidence, rows), _columns(key, rows),
              _columns(subjects, rows))
    ranked = np.argsort(-first.accuracy, kind="stable").tolist()
    leader = ranked[0]
    # the runner-up's start: the first-ranked voter that answers otherwise than the leader somewhere (an identical
    # answer sheet would lead the same start)
    pool = np.asarray(choices)

    def sheet(v):  # a voter's answers: a pool model's row, or the key (the last voter)
        return pool[v] if v < len(pool) else np.asarray(key)

    runner_up = next((v for v in ranked[1:] if (sheet(v) != sheet(leader)).any()), ranked[1])

    def start_of(v, votes):  # votes: (choices, n_options, confidence, key), all questions or the sample's
        if v == KEY_START:
            return key_start(votes[0], votes[1], votes[3], confidence=votes[2])
        return led_start(votes[0], votes[1], v, key=votes[3], confidence=votes[2])

    # the key's start only where the pool has copies (a copy group or tree given): that is the crowd it answers;
    # elsewhere a weak key's start can win the likelihood as any voter declared right does (measured: a random
    # pool with the weak generator's keys, -13.4 points), and the leaders' starts already compete
    crowd = kw.get("voter_weights") is not None or kw.get("copies") is not None
    starts = [leader, runner_up] + ([KEY_START] if key is not None and crowd else [])
    loglik = {v: estimate_truth(*sample, start=start_of(v, sample), **sample_kw).log_likelihood / len(rows)
              for v in starts}
    first.params.update(start="majority", restart_loglik=loglik)
    best = max(starts[1:], key=lambda v: loglik[v])  # the runner-up's on a tie
    if loglik[best] - loglik[leader] <= RESTART_MIN_GAIN:
        return first
    led = estimate_truth(choices, n_options, confidence, key, subjects,
                         start=start_of(best, (choices, n_options, confidence, key)), **kw)
    if led.log_likelihood <= first.log_likelihood:
        return first
    led.params.update(start=best if best == KEY_START else int(best), restart_loglik=loglik)
    return led


def posterior_given(estimate: TruthEstimate, choices: np.ndarray, n_options: np.ndarray,
                    confidence: np.ndarray | None = None, key: np.ndarray | None = None,
                    subjects: np.ndarray | None = None) -> np.ndarray:
    """(Q, O) the posterior over each question's options for these votes under ``estimate``'s fitted voter
    models and question difficulties, with nothing refitted: what the estimate says when some votes change,
    e.g. with one voter left out (its row set to -1). The votes are for the estimate's own voters, key and
    questions; with the votes it was fitted on this is ``estimate.posterior``."""
    d, p = _fitted_votes(estimate, choices, n_options, confidence, key, subjects)
    return _e_step(d, p, estimate.params["rho"], weights=estimate.params.get("voter_weights"),
                   copies=_refitted_copies(estimate, d))[0]


def _fitted_votes(estimate: TruthEstimate, choices, n_options, confidence, key, subjects):
    """The votes and every vote's probability of being right under ``estimate``'s fitted voter models."""
    d = _Votes(choices, n_options, confidence, key, subjects)
    prm = estimate.params
    if d.n_v != len(estimate.ability) or d.n_q != len(estimate.difficulty):
        raise ParameterError(f"votes of {d.n_v} voters on {d.n_q} questions, but the estimate has "
                             f"{len(estimate.ability)} voters and {len(estimate.difficulty)} questions")
    b = estimate.difficulty if prm["model"] == "irt" else 0 * estimate.difficulty
    return d, np.clip(_sigmoid(_eta(d, prm["theta"], prm["delta"], prm["beta"], b)), 1e-4, 1 - 1e-4)


def _refitted_copies(estimate: TruthEstimate, d: _Votes) -> "_Copies | None":
    """The estimate's fitted copies laid over the votes ``d`` (which may leave some out), or None."""
    cp = estimate.params.get("copies")
    return None if cp is None else _Copies(d, *cp)


def judged_by_others(estimate: TruthEstimate, choices: np.ndarray, n_options: np.ndarray,
                     confidence: np.ndarray | None = None, key: np.ndarray | None = None,
                     subjects: np.ndarray | None = None, voters=None, left_out=None) -> np.ndarray:
    """(len(voters), Q) each of ``voters``' answers (default: every pool model) scored by the posterior with
    that voter's own votes left out, nothing refitted (0 where it did not answer): how right the others say
    it is. A voter's own votes pull the posterior its way, so its plain score vouches for itself. With
    ``left_out`` (voter indices), every one of ``voters`` is scored by the one posterior without those voters'
    votes: the same judges for all, so that a strong voter, whose judges are then the weaker rest, is not
    compared with a weaker one that it judges itself."""
    d, p = _fitted_votes(estimate, choices, n_options, confidence, key, subjects)
    voters = range(estimate.n_pool) if voters is None else voters
    copies = _refitted_copies(estimate, d)
    rows = np.arange(d.n_q)

    def posterior_without(left):  # (O, Q): the E-step with those voters' votes left out
        ans = d.answered.copy()
        ans[left] = False
        return _e_step_t(d, p, estimate.params["rho"], ans, estimate.params.get("voter_weights"), copies)[0]

    shared = None if left_out is None else posterior_without(list(left_out))  # the same judges for all: one E-step
    out = []
    for v in voters:  # else one E-step per voter (a loop over the pool's models, each vectorised over questions)
        post = shared if shared is not None else posterior_without([v])
        out.append(np.where(d.answered[v], post[d.choices[v], rows], 0.0))
    return np.array(out).reshape(len(out), d.n_q)


def heldout_loglik(choices, n_options, key=None, subjects=None, *, n_folds: int = 2, seed: int = 0, **kw) -> float:
    """Label-free model selection: mean per-question log-likelihood of held-out questions (higher is better).

    Voter parameters are fitted on the other folds; on the held-out fold only the questions' own
    difficulties are fitted (a nuisance parameter every variant has).
    """
    choices = np.asarray(choices)
    n_q = choices.shape[1]
    fold = np.random.default_rng(seed).integers(n_folds, size=n_q)
    total = 0.0
    for f in range(n_folds):
        tr, te = fold != f, fold == f

        fit = estimate_truth(choices[:, tr], np.asarray(n_options)[tr], key=_columns(key, tr), subjects=_columns(subjects, tr),
                             **kw)
        params = dict(fit.params)
        if subjects is not None:  # the subject parameters of the held-out fold's subjects
            names = np.unique(np.asarray(subjects)[tr])
            pos = np.searchsorted(names, np.unique(np.asarray(subjects)[te]))
            pos = np.clip(pos, 0, len(names) - 1)
            params["delta"] = params["delta"][:, pos] if params["delta"].shape[1] > 1 else params["delta"][:, [0] * len(pos)]
            if params["rho"] is not None:
                params["rho"] = params["rho"][:, pos] if params["rho"].shape[1] > 1 else params["rho"][:, [0] * len(pos)]
        rest = {k: v for k, v in kw.items() if k not in ("subject_prior", "subject_rho", "n_iter")}
        ev = estimate_truth(choices[:, te], np.asarray(n_options)[te], key=_columns(key, te), subjects=_columns(subjects, te),
                            fixed=params, subject_prior=None, n_iter=15, **rest)
        total += ev.log_likelihood
    return total / n_q


@dataclass(frozen=True)
class Identifiability:
    """How well the votes single out the pool's best model (label-free): the lead of the first-ranked model over
    the runner-up when each is judged by the other voters only, its standard error over questions, and the
    lead required to call the choice settled; and how far the leader copies its closest partner's errors
    (:func:`copy_excess`) with the most a settled leader may, and the ``alternative`` to a copying leader: the
    first-ranked model that copies nobody."""

    leader: int
    runner_up: int
    lead: float
    lead_se: float
    required_lead: float
    copy_excess: float = 0.0
    max_copy_excess: float = 1.0
    alternative: int = -1
    #: the leader is in a tree of the estimate's copy model (:func:`copy_parents`): its copies' votes, or its own
    #: copied ones, count only as far as the fitted copy probabilities discount them
    copy_tree: bool = False
    #: the leader leads only in the fit EM took from a start where the copy model's trees counted once (the estimate's
    #: ``params["start_rival"]``: the leader of the fit from the usual starts, then the ``alternative``): which model
    #: leads rests on how far the copies are discounted
    start_rival: bool = False
    #: the runner-up's one near-copy (:data:`COPY_EXCESS`) is the leader, outside any copy tree: a strong model right
    #: where the leader is, or the leader's clone, which the votes do not tell apart; a few labels meet it and the
    #: ``alternative`` both
    runner_up_partner: bool = False
    #: some voter besides the leader and the runner-up (and identical answer sheets of either) answers: without one
    #: (a pool of two models, or two and copies of them) the lead is the prior's, no evidence
    judges: bool = True

    @property
    def settled_lead(self) -> bool:
        return self.judges and self.lead > 0 and self.lead >= self.required_lead

    @property
    def independent_leader(self) -> bool:
        return self.copy_excess < self.max_copy_excess and not self.copy_tree and not self.start_rival

    @property
    def identifiable(self) -> bool:
        return self.settled_lead and self.independent_leader

    @property
    def contenders(self) -> tuple[int, ...]:
        """The models the few labels of :mod:`rgd.few_labels` decide between: the leader and, when the leader
        shares errors with a crowd, the ``alternative`` (the hypothesis the crowd outvotes), with the runner-up
        between them where it is the leader's :attr:`runner_up_partner`; else the leader and the runner-up."""
        if not self.independent_leader and self.alternative >= 0 and self.alternative != self.leader:
            if self.runner_up_partner and self.runner_up != self.alternative:
                return self.leader, self.runner_up, self.alternative
            return self.leader, self.alternative
        return self.leader, self.runner_up

    def sentence(self, models) -> str:
        """One plain sentence for reports."""
        a, b = models[self.leader], models[self.runner_up]
        if self.identifiable:
            return (f"The top model {a} is identifiable without labels: judged by the other voters it leads {b} "
                    f"by {self.lead:.1%} of estimated accuracy (needs {self.required_lead:.1%}).")
        if not self.judges:
            return (f"Without labels the top model is NOT identifiable: no other model answers to judge between {a} "
                    f"and {b} (a pool of two, or of two and copies of them), and which of two models that disagree "
                    f"is right their own votes cannot tell; label a few questions with `rgd check` to settle it.")
        if self.independent_leader:  # the lead is what is in doubt
            return (f"Without labels the top model is NOT identifiable: judged by the other voters {a} leads {b} "
                    f"by {self.lead:+.1%} of estimated accuracy, within the estimate's noise "
                    f"({self.required_lead:.1%}), so {b} may well be the better model; label a few questions with "
                    f"`rgd check` to settle it.")
        return "Without labels the top model is NOT identifiable: " + self.copy_doubt(models)

    def copy_doubt(self, models) -> str:
        """Why a copying leader (not :attr:`independent_leader`) is in doubt, as the end of a sentence."""
        a, c = models[self.leader], models[self.contenders[-1]]
        if self.start_rival:
            return (f"{a} leads only where the pool's partial copies count once, while {c} leads where they are fitted "
                    f"as copies of their source, so which is better rests on how far those copies are discounted; "
                    f"label a few questions with `rgd check` to settle it.")
        if self.copy_excess < self.max_copy_excess:  # a copy tree, not a near-copy
            return (f"{a} shares a chain of partial copies with other models of the pool, and how far those copies "
                    f"vouch for it rests on their fitted copy probabilities, so {c} may well be the better model; "
                    f"label a few questions with `rgd check` to settle it.")
        return (f"{a}'s errors coincide with another model's far beyond chance, as a copy's would "
                f"({self.copy_excess:.0%} of the way to an exact copy, a settled leader stays below "
                f"{self.max_copy_excess:.0%}), so models that share its errors may be vouching for it and {c} may "
                f"well be the better model; label a few questions with `rgd check` to settle it.")

    def to_dict(self, models) -> dict:
        return {"identifiable": self.identifiable, "leader": models[self.leader],
                "runner_up": models[self.runner_up], "lead": round(self.lead, 5), "lead_se": round(self.lead_se, 5),
                "required_lead": round(self.required_lead, 5), "copy_excess": round(self.copy_excess, 5),
                "max_copy_excess": self.max_copy_excess, "copy_tree": self.copy_tree, "start_rival": self.start_rival,
                "judges": self.judges, "contenders": [models[i] for i in self.contenders]}


#: how many standard errors of the lead (its sampling noise over questions) a settled choice needs
IDENTIFIABLE_Z = 2.0


def identifiability(estimate: TruthEstimate, choices: np.ndarray, n_options: np.ndarray,
                    confidence: np.ndarray | None = None, key: np.ndarray | None = None,
                    subjects: np.ndarray | None = None, excess: np.ndarray | None = None) -> Identifiability:
    """Whether ``estimate`` (fitted on these votes) singles out one pool model as the best (``excess``: the pool's
    :func:`copy_excess` where the caller has it). Label-free.

    A voter's estimated accuracy counts its own votes, which pull the posterior its way: a leader looks
    further ahead than it is, and a crowd whose members vouch for each other's shared wrong answers lifts
    them all. So the leader and the runner-up are compared judged by the others: the answers of both scored
    by the one posterior without the votes of either (:func:`judged_by_others`, nothing refitted; the
    same judges for both, since a strong leader left out alone would be judged by the weak rest while it
    judges the runner-up itself: measured, that flagged a 0.8 leader among independent 0.5-0.4 voters, and
    on random and stressed pools of the recorded models it flagged 41 of 120 pools against 35 now, and
    caught 19 of the 22 where the pick was over 2 points wrong against 18 now). The choice is
    settled when that lead reaches :data:`IDENTIFIABLE_Z` standard errors of the paired per-question
    differences; a lead below it, or one that vanishes or reverses once the two stop voting for themselves,
    is not evidence. Nor is a lead whose leader copies another model's errors (or is copied): its copy
    vouches for it, and leaving the leader out still leaves the copy in. So the choice is settled only when,
    besides, the leader has no partner at :data:`COPY_EXCESS` or beyond (:func:`copy_excess`) and is in no tree
    of the estimate's copy model (:func:`copy_parents`): there its copies count only as far as the fitted copy
    probabilities discount them, and EM can fit those low on the crowd's side of the likelihood (measured on
    the stress suite's clones). Where the leader copies, the first-ranked model that copies nobody (nor is
    half-way to a copy of the leader, nor in its copy tree) is the other contender for a few labels; where no model
    is, the first-ranked one outside the leader's tree that is no near-copy of it (not the runner-up, which is
    then often a copy of the leader, that labels cannot tell apart from it). Where the runner-up's one near-copy is
    the leader, in no tree (a strong model right with it, or its clone), the labels meet both. Never settled:
    a lead of 0, a pair nobody else judges (:attr:`Identifiability.judges`), and, in a pool where each pair is
    seen through one voter only, a leader that voter sees as 0.4 of the way to a copy (a near copy beside one
    other model: :func:`copy_excess` fits no copy there, the flag still doubts). Measured over random and
    stressed pools of the recorded models: benchmarks/README.md.
    """
    acc = estimate.accuracy[: estimate.n_pool]
    if len(acc) < 2:
        raise DataError("identifiability needs a pool of at least two models")
    leader, runner_up = (int(i) for i in np.argsort(-acc, kind="stable")[:2])
    pair = (leader, runner_up)
    judged = judged_by_others(estimate, choices, n_options, confidence, key, subjects, pair, left_out=pair)
    diff = judged[0] - judged[1]
    se = float(diff.std() / np.sqrt(max(len(diff), 1)))
    if excess is None:
        excess = copy_excess(np.asarray(choices)[: estimate.n_pool], key)
    if estimate.n_pool - 2 + (key is not None) < COPY_MIN_REFERENCES:
        # each pair seen through one voter alone: too little to fit as copies (two strong models right together
        # look copied through a weak one), but a copy it may be, and the leader is then no settled one
        excess = np.maximum(excess, copy_excess(np.asarray(choices)[: estimate.n_pool], key, min_references=1))
    closest = excess.max(axis=1)
    # the alternative copies nobody and is not half-way to a copy of the leader (a partial copy of it is no other
    # hypothesis): of those, the first-ranked
    tree = _copy_tree_of(estimate.params.get("copies"), leader, len(acc))
    free = np.flatnonzero((closest < COPY_EXCESS) & (excess[leader] < COPY_EXCESS / 2) & ~tree)
    free = free[free != leader]
    if not len(free):  # none: the first-ranked model outside the leader's tree that is no near-copy of it
        free = np.flatnonzero((excess[leader] < COPY_EXCESS) & ~tree)
    alternative = int(free[np.argmax(acc[free])]) if len(free) else runner_up
    rival = int(estimate.params.get("start_rival", -1))
    start_rival = 0 <= rival < len(acc) and rival != leader
    partner = bool(excess[leader, runner_up] >= COPY_EXCESS and not tree[runner_up]
                   and (np.delete(excess[runner_up], [leader, runner_up]) < COPY_EXCESS).all())
    return Identifiability(leader, runner_up, float(diff.mean()), se, IDENTIFIABLE_Z * se,
                           float(closest[leader]), COPY_EXCESS, rival if start_rival else alternative,
                           bool(tree.sum() > 1), start_rival, partner, _has_judges(choices, key, pair))


def _has_judges(choices: np.ndarray, key: np.ndarray | None, pair: tuple[int, int]) -> bool:
    """Whether some voter other than the ``pair`` (the key included), and not an identical answer sheet of either,
    answers any question: a pool of two models, or of two and copies of them, has none, and which of two voters
    that disagree is right is then a coin the votes cannot toss."""
    votes = np.asarray(choices) if key is None else np.vstack([np.asarray(choices), np.asarray(key)[None, :]])
    same = _identical_sheets(votes.astype(np.int64))
    judges = np.ones(len(votes), dtype=bool)
    judges[list(pair)] = False
    judges &= ~same[list(pair)].any(axis=0)
    return bool((votes[judges] >= 0).any())


def _copy_tree_of(copies, model: int, n_models: int) -> np.ndarray:
    """(M,) mask of the models in ``model``'s tree of the copy model's ``(parents, prob)`` (just ``model``
    itself where it has no copy relation)."""
    if copies is None:
        return np.arange(n_models) == model
    parents = np.asarray(copies[0])
    tree = np.where(parents >= 0, parents, np.arange(n_models))  # a root is its own parent, as _root reads it
    roots = np.array([_root(tree, i) for i in range(n_models)])
    return roots == roots[model]
