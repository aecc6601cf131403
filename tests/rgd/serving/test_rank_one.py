"""A served router ranks a question at cost weight 0 once, with its batch (what most requests ask), and keeps the
ranking with the question's other results: the same ranking the bundle's rule gives, a copy per request, the
cost weight refused as before."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from rgd.routers.policy import CostWeightError
from rgd.serving.reload import LoadedRouter
from tests.rgd.tracking.synthetic import fit_bundle, synthetic_pool

ASKED = synthetic_pool(seed=3)[0] + ["", "zebra xylophone saxophone"]


@pytest.mark.parametrize("cache", [0, 4096])
def test_the_ranking_at_cost_weight_zero_is_the_bundles_rule(cache):
    bundle = fit_bundle("cascal")
    router = LoadedRouter("1", bundle, prompt_cache_size=cache)

    async def main():
        alone = [await router.rank(q) for q in ASKED]  # one question a batch
        together = await asyncio.gather(*(router.rank(q, 0.0) for q in ASKED))  # batched (or cached)
        return alone, together

    alone, together = asyncio.run(main())
    router.close()
    for q, a, b in zip(ASKED, alone, together):
        order = bundle.rank(bundle.score(bundle.embedder.embed([q])), 0.0).order[0]
        expected = [bundle.models[j] for j in order]
        assert a.models == b.models == expected
    assert alone[-1].warning is not None and alone[0].warning is None


def test_each_request_gets_its_own_ranking_and_bad_cost_weights_are_refused():
    router = LoadedRouter("1", fit_bundle("cascal"), prompt_cache_size=16)

    async def main():
        first = await router.rank(ASKED[0])
        first.models.clear()  # a caller's list: the cached ranking is not touched
        again = await router.rank(ASKED[0], 0)
        for bad in (True, 1.5, -0.1, float("nan"), "0"):
            with pytest.raises(CostWeightError, match="cost_weight must be"):
                await router.rank(ASKED[0], bad)
        with pytest.raises(CostWeightError):  # above 0 without a cost policy
            await router.rank(ASKED[0], 0.5)
        return again

    again = asyncio.run(main())
    router.close()
    assert len(again.models) == 4 and np.unique(again.models).size == 4
