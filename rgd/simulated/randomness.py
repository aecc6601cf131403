"""Counter-based randomness: the same (key, stream) always gives the same number, whatever the batch order.

Every simulated draw is keyed by a question's content hash and a model's key, so answering questions in any
order or batch size gives identical results. Hashing is splitmix64 on uint64 arrays (wrapping arithmetic).
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_53 = float(2**53)


def stable_hash(text: str) -> int:
    """A 64-bit hash of a string that is stable across processes (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, element-wise on a uint64 array."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def keyed_bits(keys: np.ndarray, stream: int) -> np.ndarray:
    """Independent uint64 bits per key for a numbered stream."""
    with np.errstate(over="ignore"):
        return splitmix64(np.asarray(keys, dtype=np.uint64) ^ splitmix64(np.full(1, stream, dtype=np.uint64)))


def keyed_uniform(keys: np.ndarray, stream: int) -> np.ndarray:
    """Uniform floats in [0, 1), one per key, for a numbered stream."""
    return (keyed_bits(keys, stream) >> np.uint64(11)).astype(np.float64) / _TWO_POW_53


def keyed_normal(keys: np.ndarray, stream: int) -> np.ndarray:
    """Standard normal floats (Box-Muller on two streams derived from ``stream``)."""
    u1 = keyed_uniform(keys, 2 * stream + 1_000_003)
    u2 = keyed_uniform(keys, 2 * stream + 1_000_004)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mix two uint64 key arrays (broadcasting) into one key per pair."""
    with np.errstate(over="ignore"):
        return splitmix64(np.asarray(a, dtype=np.uint64) ^ (splitmix64(np.asarray(b, dtype=np.uint64)) * _M1))
