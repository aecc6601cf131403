"""Named generator presets from strong to weak (defined in :mod:`rgd.config.simulated`), and the default world
and pool of the embedded demo."""

from __future__ import annotations

from rgd.config.simulated import (  # noqa: F401 - re-exported
    GENERATOR_PRESETS,
    PRESET_ORDER,
    PoolConfig,
    WorldConfig,
    generator_preset,
)
from rgd.simulated.generator import SimulatedGenerator
from rgd.simulated.pool import SimulatedPool
from rgd.simulated.world import World


def make_generator(world: World, name: str, **overrides) -> SimulatedGenerator:
    return SimulatedGenerator(world, generator_preset(name, **overrides))


def default_world(seed: int = 0) -> World:
    """The embedded default's world: 6 subjects x 4 niches."""
    return World(WorldConfig(seed=seed))


def default_pool(world: World, seed: int = 0) -> SimulatedPool:
    """The embedded default's pool: 7 specialists and 2 generalists."""
    return SimulatedPool(world, PoolConfig(seed=seed))
