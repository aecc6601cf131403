"""The E-step's O(Q K) marginals over (truth, distractor) pairs equal the sums of the (Q, K, K) joint."""

import numpy as np
import pytest

from rgd.truth import _pair_posteriors


def _by_the_joint(a, bb, valid):
    n_o = a.shape[1]
    ok = valid[:, :, None] & valid[:, None, :] & ~np.eye(n_o, dtype=bool)[None]
    joint = np.where(ok, a[:, :, None] + bb[:, None, :], -np.inf)
    mx = joint.max(axis=(1, 2), keepdims=True)
    pj = np.exp(joint - mx)
    tot = pj.sum(axis=(1, 2))
    pj /= tot[:, None, None]
    return pj.sum(axis=2), pj.sum(axis=1), mx[:, 0, 0] + np.log(tot)


@pytest.mark.parametrize("scale", [0.5, 5.0, 60.0])
def test_pair_posteriors_equal_the_joint(scale):
    rng = np.random.default_rng(int(scale * 10))
    q, n_o = 500, 10
    n_options = rng.choice([2, 3, 4, 10], q)
    valid = np.arange(n_o)[None, :] < n_options[:, None]
    a = np.where(valid, rng.normal(0, scale, (q, n_o)), 0.0)
    bb = np.where(valid, rng.normal(0, scale, (q, n_o)), 0.0)
    bb[:50] = a[:50]  # the truth's and the distractor's favourite the same option, as under a clear majority
    for got, want in zip(_pair_posteriors(a, bb, valid), _by_the_joint(a, bb, valid)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    post, post_d, _ = _pair_posteriors(a, bb, valid)
    assert (post[~valid] == 0).all() and (post_d[~valid] == 0).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-13)
