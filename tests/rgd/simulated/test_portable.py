import numpy as np
import pytest

from rgd.errors import DataError
from rgd.simulated import (
    World,
    WorldConfig,
    default_pool,
    default_world,
    make_generator,
)
from rgd.simulated.portable import export_latents, import_latents


def test_latents_round_trip_into_a_fresh_world():
    w1 = default_world()
    qs = make_generator(w1, "weak").generate_questions(20, seed=4)
    exported = export_latents(w1, qs)
    before = default_pool(w1).answer_table(qs)

    w2 = default_world()
    with pytest.raises(DataError):
        w2.latent(qs)
    import_latents(w2, qs, exported)
    import_latents(w2, qs, exported)  # idempotent
    after = default_pool(w2).answer_table(qs)
    assert np.array_equal(before.choices, after.choices) and np.array_equal(before.confidence, after.confidence)


def test_import_refuses_another_world_and_bad_arrays():
    w1 = default_world()
    qs = make_generator(w1, "strong").generate_questions(5, seed=0)
    exported = export_latents(w1, qs)
    with pytest.raises(DataError, match="different simulated world"):
        import_latents(World(WorldConfig(seed=9)), qs, exported)
    with pytest.raises(DataError, match="lack"):
        import_latents(default_world(), qs, {"niche": exported["niche"]})
    short = {k: v[:-1] if k != "world_fingerprint" else v for k, v in exported.items()}
    with pytest.raises(DataError, match="values for"):
        import_latents(default_world(), qs, short)
