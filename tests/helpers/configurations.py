"""Configurations whose geometry a test knows: lattices, and uniform random points."""

from __future__ import annotations

import numpy as np

from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem


def gaussian_jittered_lattice(
    system: ModelSystem, n_side: int, rng: np.random.Generator, jitter: float = 0.05
) -> Configuration:
    """n_side² particles, one on every site of a square lattice at the system density, each displaced by Gaussian
    noise of standard deviation ``jitter`` (in σ), random types, all drawn from the caller's ``rng``.

    Not the library's :func:`glass_core.models.initial_configurations.jittered_lattice`: that one takes a system name,
    any n and a seed, fills n randomly chosen sites of a ⌈√n⌉² lattice and displaces them uniformly by up to
    ``jitter`` lattice spacings (no close pairs, for benchmarks). Here every site is filled, the noise is Gaussian in
    σ (so a large ``jitter`` makes a liquid-like snapshot), and successive calls share one generator.
    """
    n = n_side * n_side
    length = system.box_length(n)
    grid = (np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side)), -1).reshape(-1, 2) + 0.5) * length / n_side
    types = np.repeat(np.arange(system.n_types), system.type_counts(n))
    rng.shuffle(types)
    return Configuration(grid + rng.normal(0, jitter, grid.shape), types, (length, length), system.name).wrapped()


def uniform_random_configuration(n: int, box: tuple[float, float], seed: int, n_types: int = 2) -> Configuration:
    """n points uniform in the box (overlaps allowed), types uniform in 0 … n_types − 1; no model system."""
    rng = np.random.default_rng(seed)
    return Configuration(rng.uniform(0, 1, (n, 2)) * np.asarray(box), rng.integers(0, n_types, n), box)


def triangular_lattice(nx: int, ny: int, a: float, offset: float = 0.1) -> Configuration:
    """nx × ny perfect triangular lattice of spacing a in a commensurate periodic box (ny even), one type."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    x = (i + 0.5 * (j % 2)) * a
    y = j * a * np.sqrt(3) / 2
    positions = np.stack([x.ravel(), y.ravel()], axis=1) + offset
    return Configuration(positions, np.zeros(nx * ny, int), (nx * a, ny * a * np.sqrt(3) / 2))
