"""Carry simulated questions' latent truth across processes (pipeline steps run in separate pods).

A :class:`~rgd.simulated.world.World` keeps latent truth in memory. A step that generates questions exports
it with :func:`export_latents` next to the questions; a later step rebuilds the same world from its config
and re-registers the questions with :func:`import_latents`, after which the simulated pool answers them
exactly as it would have in the generating process (every draw is keyed by content hash, not by process).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rgd.data.schema import Question
from rgd.errors import DataError
from rgd.simulated.registry import Latent
from rgd.simulated.world import World

LATENT_FIELDS = ("niche", "difficulty", "key", "distractor", "kind")


def export_latents(world: World, questions: Sequence[Question]) -> dict[str, np.ndarray]:
    """Latent arrays aligned with ``questions`` (plus the world's fingerprint as a 1-element array)."""
    la = world.latent(questions)
    out = {name: np.asarray(getattr(la, name)).copy() for name in LATENT_FIELDS}
    out["world_fingerprint"] = np.array([world.fingerprint()], dtype=np.uint64)
    return out


def import_latents(world: World, questions: Sequence[Question], latents: dict[str, np.ndarray]) -> None:
    """Register ``questions`` with their exported latent truth in ``world`` (idempotent)."""
    missing = [f for f in LATENT_FIELDS if f not in latents]
    if missing:
        raise DataError(f"simulated latents lack {missing}; the question set was not made by a simulated world")
    fp = latents.get("world_fingerprint")
    if fp is not None and int(np.asarray(fp).ravel()[0]) != world.fingerprint():
        raise DataError("these questions were generated in a different simulated world (world config changed)")
    n = len(questions)
    for f in LATENT_FIELDS:
        if len(latents[f]) != n:
            raise DataError(f"simulated latents hold {len(latents[f])} {f} values for {n} questions")
    niche, diff, key, dis, kind = (np.asarray(latents[f]).tolist() for f in LATENT_FIELDS)
    for i, q in enumerate(questions):
        world.registry.register(q.id, q.text, q.options, Latent(int(niche[i]), float(diff[i]), int(key[i]),
                                                                int(dis[i]), int(kind[i])))
