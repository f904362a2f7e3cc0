"""Propensity data sets with a known answer, for GlassMLP [G] and tGlassMLP [J]: :func:`synthetic` (structure seen
through six descriptors) and :func:`crafted` (a smooth function of one descriptor and of T, on a jittered lattice).
"""

import numpy as np

from glass_core.learning.mlp_data import PropensityDataset

SCALE = np.array([1.0, 3.0, 0.5, 2.0, 1.0, 1.5])
OFFSET = np.array([5.0, -2.0, 0.0, 1.0, 3.0, 10.0])


def synthetic(temperatures, cbs, n_configs, n_particles, seed, first_id=0, noise=0.15):
    """Known propensity: y = C + A(T, C)·[tanh(z₀ + C z₁) + 0.3 (type − ½) + noise·ξ], A = 2C(1 − C)(1.5 − T).

    z are standard normal structural variables, seen through 6 descriptors x = z·scale + offset (four of
    them irrelevant); the label's mean over particles is C (the state point's ⟨C_B⟩), the features
    that matter change their mixture with C, and the amplitude grows as T falls. The best possible
    Pearson correlation is ≈ 0.97.
    """
    rng = np.random.default_rng(seed)
    columns = [[] for _ in range(6)]
    for k, temperature in enumerate(temperatures):
        for c in range(n_configs):
            z = rng.normal(size=(n_particles, 6))
            types = rng.integers(0, 2, n_particles)
            for cb in cbs:
                amplitude = 2 * cb * (1 - cb) * (1.5 - temperature)
                signal = np.tanh(z[:, 0] + cb * z[:, 1]) + 0.3 * (types - 0.5)
                labels = cb + amplitude * (signal + noise * rng.normal(size=n_particles))
                for column, values in zip(
                    columns,
                    (
                        z * SCALE + OFFSET,
                        types,
                        np.full(n_particles, first_id + k * n_configs + c),
                        np.full(n_particles, temperature),
                        np.full(n_particles, cb),
                        labels,
                    ),
                    strict=True,
                ):
                    column.append(values)
    return PropensityDataset(*(np.concatenate(column) for column in columns))


SIDE = 12


def amplitude(temperature: float) -> float:
    return 0.15 * (1 + 0.3 * (0.7 - temperature))


def crafted(temperatures: list[float], cbs: list[float], n_configs: int, seed: int, first_id: int = 0
            ) -> PropensityDataset:
    """Particles on a jittered 12 × 12 lattice; descriptor x₀ = z + u_c (u_c a per-configuration shift, so the
    configurations differ and χ4 is large) plus two irrelevant ones; label = ⟨C_B⟩ + A(T) tanh(x₀) with the state
    point's mean removed and 1 % noise. A grows slowly as T falls, so the held-out T needs a mild extrapolation."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE)), -1).reshape(-1, 2) + 0.5
    n = SIDE * SIDE
    columns: dict[str, list] = {k: [] for k in ("features", "types", "configuration", "temperature", "cb", "labels",
                                                "positions")}
    for k, temperature in enumerate(temperatures):
        structures = [(grid + rng.normal(0, 0.1, grid.shape), rng.normal(size=n) + rng.normal(0, 0.5))
                      for _ in range(n_configs)]
        for cb in cbs:
            signal = np.concatenate([np.tanh(x0) for _, x0 in structures])
            signal -= signal.mean()
            for c, (positions, x0) in enumerate(structures):
                values = cb + amplitude(temperature) * signal[c * n : (c + 1) * n] + 0.01 * rng.normal(size=n)
                columns["features"].append(np.column_stack([x0, rng.normal(size=(n, 2))]))
                columns["types"].append(np.zeros(n, int))
                columns["configuration"].append(np.full(n, first_id + k * n_configs + c))
                columns["temperature"].append(np.full(n, temperature))
                columns["cb"].append(np.full(n, cb))
                columns["labels"].append(values)
                columns["positions"].append(positions % SIDE)
    stacked = {k: np.concatenate(v) for k, v in columns.items()}
    return PropensityDataset(stacked["features"], stacked["types"], stacked["configuration"], stacked["temperature"],
                             stacked["cb"], stacked["labels"], stacked["positions"],
                             np.full((len(stacked["labels"]), 2), float(SIDE)))
