"""Named generator presets from strong to weak, and the default world and pool of the embedded demo."""

from __future__ import annotations

from rgd.errors import ParameterError
from rgd.simulated.generator import GeneratorConfig, SimulatedGenerator
from rgd.simulated.pool import PoolConfig, SimulatedPool
from rgd.simulated.world import World, WorldConfig

#: strongest first; each level has worse keys, more non-separating questions, less coverage, noisier text
GENERATOR_PRESETS: dict[str, GeneratorConfig] = {
    "strong": GeneratorConfig(
        name="sim-gen-strong", key_accuracy=0.95, too_easy_rate=0.03, too_hard_rate=0.02,
        niche_coverage=1.0, noise_words=0.0, self_agree_right=0.97, self_agree_wrong=0.5,
    ),
    "medium": GeneratorConfig(
        name="sim-gen-medium", key_accuracy=0.8, too_easy_rate=0.08, too_hard_rate=0.05,
        niche_coverage=1.0, noise_words=0.5, self_agree_right=0.93, self_agree_wrong=0.55,
    ),
    "weak": GeneratorConfig(
        name="sim-gen-weak", key_accuracy=0.65, too_easy_rate=0.12, too_hard_rate=0.1,
        niche_coverage=0.75, noise_words=1.0, self_agree_right=0.9, self_agree_wrong=0.6,
    ),
    "very_weak": GeneratorConfig(
        name="sim-gen-very-weak", key_accuracy=0.5, too_easy_rate=0.15, too_hard_rate=0.15,
        niche_coverage=0.75, noise_words=1.5, self_agree_right=0.85, self_agree_wrong=0.65,
    ),
}

PRESET_ORDER: tuple[str, ...] = tuple(GENERATOR_PRESETS)


def generator_preset(name: str, **overrides) -> GeneratorConfig:
    """A preset's config, optionally with some fields overridden (e.g. ``seed``)."""
    if name not in GENERATOR_PRESETS:
        raise ParameterError(f"unknown generator preset {name!r}; choose from {', '.join(PRESET_ORDER)}")
    return GENERATOR_PRESETS[name].model_copy(update=overrides)


def make_generator(world: World, name: str, **overrides) -> SimulatedGenerator:
    return SimulatedGenerator(world, generator_preset(name, **overrides))


def default_world(seed: int = 0) -> World:
    """The embedded default's world: 6 subjects x 4 niches."""
    return World(WorldConfig(seed=seed))


def default_pool(world: World, seed: int = 0) -> SimulatedPool:
    """The embedded default's pool: 7 specialists and 2 generalists."""
    return SimulatedPool(world, PoolConfig(seed=seed))
