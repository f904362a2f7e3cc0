"""Reproducible seeds: every random draw derives from (system, temperature, sample, base seed).

The same inputs give the same seed on every machine and Python version (a BLAKE2 hash, not
Python's salted ``hash``), so a rerun of a partition regenerates the same data.
"""

from __future__ import annotations

import hashlib

__all__ = ["derive_seed"]

_LAMMPS_MAX_SEED = 2**31 - 1  # LAMMPS seeds are positive 32-bit integers


def derive_seed(system: str, temperature: float, sample: int, base_seed: int, purpose: str = "") -> int:
    """A seed in [1, 2³¹ − 1) from the identity of one sample.

    ``purpose`` separates independent streams for the same sample (e.g. ``"quench"``, ``"replica-3"``).
    Temperatures are keyed by their shortest round-trip representation, so 0.3 and 0.30 agree.
    """
    key = f"{system}|{float(temperature)!r}|{int(sample)}|{int(base_seed)}|{purpose}".encode()
    digest = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return 1 + digest % (_LAMMPS_MAX_SEED - 1)
