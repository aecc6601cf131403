"""Fixtures every test directory may use: the shared simulated world (built once per module: benchmark
generation is the slow part)."""

from __future__ import annotations

import pytest

from rgd.simulated import default_pool, default_world


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.fixture(scope="module")
def pool(world):
    return default_pool(world)


@pytest.fixture(scope="module")
def bench(world):
    """(train, test) of the world's real benchmark with true keys."""
    return world.benchmark(1200, 2400)
