"""EM's (O, Q) layout and reused buffers (rgd/truth.py) give the same bits as the straightforward (Q, O) code.

The references below are the E-step's and the M-step's pieces as they were written before the layout change
(row-wise numpy on (Q, O) tables, fresh arrays with masks); each new helper must equal them bit for bit, and
the whole estimate must not depend on the helpers taking their fast paths.
"""

import numpy as np
import pytest

from rgd.truth import (
    _e_step,
    _eta,
    _fast_residuals,
    _log_sum_others_t,
    _OptionsT,
    _pair_posteriors,
    _Predictor,
    _question_sums,
    _residuals,
    _sigmoid,
    _sum_rows,
    _Votes,
    estimate_truth,
    judged_by_others,
)


def _log_sum_others_rows(v, valid):
    vv = np.where(valid, v, -np.inf)
    rows = np.arange(len(vv))
    top = vv.argmax(axis=1)
    m1 = vv[rows, top][:, None]
    e1 = np.exp(vv - m1)
    others = e1.sum(axis=1, keepdims=True) - e1
    vv[rows, top] = -np.inf
    m2 = vv.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m1 + np.log(np.maximum(others, 0.0))
        out[rows, top] = m2 + np.log(np.exp(vv - m2[:, None]).sum(axis=1))
    return out


def _pair_posteriors_rows(a, bb, valid):
    log_t = np.where(valid, a + _log_sum_others_rows(bb, valid), -np.inf)
    mx = log_t.max(axis=1, keepdims=True)
    post = np.exp(log_t - mx)
    tot = post.sum(axis=1)
    log_z = mx[:, 0] + np.log(tot)
    post /= tot[:, None]
    log_d = np.where(valid, bb + _log_sum_others_rows(a, valid), -np.inf)
    return post, np.exp(log_d - log_z[:, None]), log_z


def _tables(rng, q, n_o, n_options, scale):
    valid = np.arange(n_o)[None, :] < n_options[:, None]
    a = np.where(valid, rng.normal(0, scale, (q, n_o)), 0.0)
    bb = np.where(valid, rng.normal(0, scale, (q, n_o)), 0.0)
    bb[:40] = a[:40]
    a[40:80, 1] = a[40:80, 0]  # ties at the maximum: the first is the maximum, as argmax takes it
    a[80:90] = np.round(a[80:90])
    a[90:95, 0] += 800.0  # the other options' terms underflow: the maximum's sum over the others is exactly 0
    return a, bb, valid


@pytest.mark.parametrize("n_o", [2, 3, 4, 7, 8, 9, 10, 16, 17, 26])
def test_sum_rows_adds_in_numpys_order(n_o):
    rng = np.random.default_rng(n_o)
    x = rng.normal(size=(500, n_o)) * np.exp(rng.normal(size=(500, n_o)) * 3)
    assert np.array_equal(_sum_rows(np.ascontiguousarray(x.T)), x.sum(axis=1))


@pytest.mark.parametrize("n_v", [2, 5, 12, 13, 30])
def test_question_sums_in_either_layout(n_v):
    x = np.random.default_rng(n_v).normal(size=(n_v, 700)) * 7
    for a in (x, np.asfortranarray(x)):
        assert np.array_equal(_question_sums(a), a.sum(axis=0))


def test_sum_rows_beyond_a_block():
    x = np.random.default_rng(0).normal(size=(30, 200))
    np.testing.assert_allclose(_sum_rows(np.ascontiguousarray(x.T)), x.sum(axis=1), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("scale", [0.5, 5.0, 60.0])
@pytest.mark.parametrize("one_option", [False, True])
def test_pair_posteriors_equal_the_row_code_bit_for_bit(scale, one_option):
    rng = np.random.default_rng(int(scale * 10) + one_option)
    q, n_o = 600, 10
    n_options = rng.choice([2, 3, 4, 10], q)
    if one_option:  # a question with a single option: the fast path is off, the plain one gives the old NaNs
        n_options[5] = 1
    a, bb, valid = _tables(rng, q, n_o, n_options, scale)
    assert _OptionsT(np.ascontiguousarray(valid.T)).regular is not one_option
    with np.errstate(invalid="ignore"):
        got, want = _pair_posteriors(a, bb, valid), _pair_posteriors_rows(a, bb, valid)
        lso = _log_sum_others_t(np.ascontiguousarray(a.T), _OptionsT(np.ascontiguousarray(valid.T))).T
        assert np.array_equal(lso, _log_sum_others_rows(a, valid), equal_nan=True)
    for g, w in zip(got, want):
        assert np.array_equal(g, w, equal_nan=True)
    assert np.isnan(got[0][5]).all() == one_option


def _votes(order, with_conf=False, n_s=4):
    rng = np.random.default_rng(3)
    m, q = 7, 900
    n_options = rng.choice([3, 4, 10], q)
    choices = (rng.random((m, q)) * n_options).astype(np.int64)
    choices[rng.random((m, q)) < 0.08] = -1
    choices = np.asfortranarray(choices) if order == "F" else choices
    conf = rng.normal(size=(m, q)) if with_conf else None
    return _Votes(choices, n_options, conf, None, rng.integers(n_s, size=q)), rng


@pytest.mark.parametrize("order", ["C", "F"])
def test_chosen_and_votes_in_the_transposed_layout(order):
    d, rng = _votes(order)
    assert d.order == order
    table = rng.random((d.n_q, d.n_o))
    got, want = d.chosen_t(np.ascontiguousarray(table.T)), d.chosen(table)
    assert np.array_equal(got, want) and got.strides == want.strides  # the layout decides the sums' order
    w = rng.normal(size=(d.n_v, d.n_q))
    for layout in (w, np.asfortranarray(w)):  # read in either memory order, each question's voters in order
        assert np.array_equal(d.votes_t(layout), d.votes(w).T)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("with_conf", [False, True])
def test_predictor_and_fast_residuals_equal_sigmoid_of_eta(order, with_conf):
    d, rng = _votes(order, with_conf)
    theta, beta, b = rng.normal(size=d.n_v), rng.normal(size=d.n_v), rng.normal(size=d.n_q)
    delta = rng.normal(size=(d.n_v, d.n_s))
    want = _sigmoid(_eta(d, theta, delta, beta, b))
    plain, zeroed = _Predictor(d, False), _Predictor(d, True)
    plain.set_voters(theta, delta, beta)
    zeroed.set_voters(theta, delta, beta)
    assert np.array_equal(plain(b), want) and plain(b).strides == want.strides
    p = zeroed(b)
    assert np.array_equal(p[d.answered], want[d.answered]) and (p[~d.answered] == 0).all()
    y = d.chosen(rng.random((d.n_q, d.n_o)))
    r, h = _fast_residuals(p, y, np.empty(p.shape, order=d.order), np.empty(p.shape, order=d.order))
    r0, h0 = _residuals(d.answered, want, y)
    assert np.array_equal(r, r0) and np.array_equal(h, h0)
    assert np.array_equal(r.sum(axis=1), r0.sum(axis=1)) and np.array_equal(h.sum(axis=0), h0.sum(axis=0))


def _e_step_rows(d, p, rho, ans):
    """The E-step of the popular-distractor model as it was written for (Q, O) tables."""
    km2 = np.maximum(d.n_options - 2, 1).astype(np.float64)[None, :]
    log_1mp = np.log(1 - p)
    l_other = log_1mp + np.log(1 - rho)[:, d.subj] - np.log(km2)
    names_truth = np.log(p) - l_other
    names_distractor = log_1mp + np.log(rho)[:, d.subj] - l_other
    a = d.votes(np.where(ans, names_truth, 0.0))
    bb = d.votes(np.where(ans, names_distractor, 0.0))
    post, post_d, log_z = _pair_posteriors_rows(a, bb, d.valid)
    pairs = np.maximum(d.n_options * (d.n_options - 1), 1)
    base = np.where(ans, l_other, 0.0).sum(axis=0) - np.log(pairs)
    return post, post_d, float((base + log_z).sum())


@pytest.mark.parametrize("order", ["C", "F"])
def test_e_step_equals_the_row_code(order):
    d, rng = _votes(order)
    p = np.clip(_sigmoid(_eta(d, rng.normal(size=d.n_v), rng.normal(size=(d.n_v, d.n_s)), np.zeros(d.n_v),
                              rng.normal(size=d.n_q))), 1e-4, 1 - 1e-4)
    rho = rng.uniform(0.02, 0.98, (d.n_v, d.n_s))
    some = d.answered.copy()
    some[2] = False
    for ans in (None, some):
        got = _e_step(d, p, rho, ans)
        want = _e_step_rows(d, p, rho, d.answered if ans is None else ans)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))


def test_estimate_does_not_depend_on_the_fast_paths(monkeypatch):
    """With the predictor's zeroing and the finite missing options off (masked residuals, -inf through exp and
    log), the estimate is the same to the bit: the fast paths only skip work."""
    d, rng = _votes("F")
    choices = np.where(d.answered, d.choices, -1)[: d.n_pool]
    key = np.where(rng.random(d.n_q) < 0.7, choices[0], -1)
    fast = estimate_truth(choices, d.n_options, key=key, subjects=d.subj)
    monkeypatch.setattr(_OptionsT, "__init__", _plain_options_init)
    monkeypatch.setattr(_Predictor, "__init__", _plain_predictor_init)
    plain = estimate_truth(choices, d.n_options, key=key, subjects=d.subj)
    for name in ("posterior", "accuracy", "scores", "ability", "difficulty", "rho"):
        assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
    assert fast.log_likelihood == plain.log_likelihood
    assert np.array_equal(judged_by_others(fast, choices, d.n_options, key=key, subjects=d.subj),
                          judged_by_others(plain, choices, d.n_options, key=key, subjects=d.subj))


_original_predictor_init = _Predictor.__init__
_original_options_init = _OptionsT.__init__


def _plain_predictor_init(self, d, unanswered_zero, dtype=np.float64):
    _original_predictor_init(self, d, False, dtype)  # every vote's probability kept: the residuals take the masks


def _plain_options_init(self, valid):
    _original_options_init(self, valid)
    self.regular = False  # the -inf of the missing options carried through exp and log


def test_estimate_reads_a_question_major_table_as_a_voter_major_one():
    """EM copies a question-major table (a recorded table's transposed columns) to voter-major once: the same
    estimate to the bit whichever layout the votes come in, with and without confidences; and the predictor's
    voter part, ``(delta + theta)[:, subject]``, is the same sum per entry as ``theta + delta[:, subject]``."""
    d, rng = _votes("F", with_conf=True)
    choices = np.asfortranarray(np.where(d.answered, d.choices, -1))
    assert choices.flags.f_contiguous and not choices.flags.c_contiguous
    conf = rng.normal(size=choices.shape)
    for c in (None, conf):
        fast = estimate_truth(choices, d.n_options, c, subjects=d.subj)
        plain = estimate_truth(np.ascontiguousarray(choices), d.n_options, c, subjects=d.subj)
        for name in ("posterior", "accuracy", "scores", "ability", "difficulty", "rho"):
            assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
        assert fast.log_likelihood == plain.log_likelihood
    c_votes, _ = _votes("C")
    pred = _Predictor(c_votes, True)
    theta, delta = rng.normal(size=c_votes.n_v), rng.normal(size=(c_votes.n_v, c_votes.n_s))
    pred.set_voters(theta, delta, np.zeros(c_votes.n_v))
    assert pred.voters.flags.c_contiguous
    assert np.array_equal(pred.voters, theta[:, None] + delta[:, c_votes.subj])


def test_the_float32_m_step_moves_the_estimate_by_rounding_only(monkeypatch):
    """Without copies EM's M-step works in float32 (M_STEP_DTYPE); its E-step, and so the posterior and the
    likelihood, in float64 from the parameters: the estimate stays within rounding of the float64 M-step's
    (the same answers, abilities to 1e-5), and the E-step's P(right) is what posterior_given computes."""
    import rgd.truth as truth

    d, rng = _votes("C", with_conf=True)
    choices = np.where(d.answered, d.choices, -1)
    conf = rng.normal(size=choices.shape)
    for c in (None, conf):
        single = estimate_truth(choices, d.n_options, c, subjects=d.subj)
        monkeypatch.setattr(truth, "M_STEP_DTYPE", np.float64)
        double = estimate_truth(choices, d.n_options, c, subjects=d.subj)
        monkeypatch.undo()
        assert not np.array_equal(single.posterior, double.posterior)  # float32 did run
        np.testing.assert_allclose(single.posterior, double.posterior, atol=1e-5)
        np.testing.assert_allclose(single.ability, double.ability, atol=1e-5)
        np.testing.assert_allclose(single.difficulty, double.difficulty, atol=1e-5)
        assert np.array_equal(single.truth, double.truth)
        assert abs(single.log_likelihood - double.log_likelihood) < 1e-6 * abs(double.log_likelihood)
        np.testing.assert_allclose(truth.posterior_given(single, choices, d.n_options, c, subjects=d.subj),
                                   single.posterior, atol=1e-12)
