"""Random streams keyed by name and logical position, never by call order.

``stream(seed, "journal_entries", company, period, block)`` always yields the same generator
for the same arguments, on any worker, in any order. Separate concerns take separate names so
that switching a feature on never shifts another feature's draws.
"""

from __future__ import annotations

import hashlib

import numpy as np

Key = str | int


def stable_hash(name: str) -> int:
    """A 63-bit hash of ``name`` that is the same in every process and Python version."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def spawn_key(*keys: Key) -> tuple[int, ...]:
    """The SeedSequence spawn key for a path of names (hashed) and positions (as is)."""
    out: list[int] = []
    for key in keys:
        if isinstance(key, str):
            out.append(stable_hash(key))
        elif isinstance(key, int) and key >= 0:
            out.append(key)
        else:
            raise ValueError(f"stream keys must be names or non-negative ints, got {key!r}")
    return tuple(out)


def stream(seed: int, *keys: Key) -> np.random.Generator:
    """The generator for one concern at one logical position, derived from the master seed."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key(*keys)))
    )
