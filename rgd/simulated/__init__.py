"""A simulated world for offline demos and for testing routers on generated data of known quality.

Subjects with latent skill niches (own vocabularies: real words per default subject, :mod:`rgd.simulated.lexicon`),
a pool of simulated models (specialists and generalists with calibrated confidence) and generators with quality
knobs (key accuracy, non-separating questions, niche coverage, text noise). Deterministic given seeds; answering is vectorised.
"""

from rgd.simulated.generator import GeneratorConfig, SimulatedGenerator
from rgd.simulated.pool import PoolConfig, SimulatedModel, SimulatedPool
from rgd.simulated.presets import (
    GENERATOR_PRESETS,
    PRESET_ORDER,
    default_pool,
    default_world,
    generator_preset,
    make_generator,
)
from rgd.simulated.world import Niche, World, WorldConfig

__all__ = [
    "GENERATOR_PRESETS",
    "PRESET_ORDER",
    "GeneratorConfig",
    "Niche",
    "PoolConfig",
    "SimulatedGenerator",
    "SimulatedModel",
    "SimulatedPool",
    "World",
    "WorldConfig",
    "default_pool",
    "default_world",
    "generator_preset",
    "make_generator",
]
