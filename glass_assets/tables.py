"""Row builders and loaders between the warehouse tables and glass_core objects, shared by every domain.

``samples``/``particles`` rows are written by three assets (quench, swap MC, inherent structures) and
read back as :class:`~glass_core.models.configuration.Configuration` by five; both directions live here
so the column layout of :mod:`glass_assets.warehouse` is spelt once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from glass_assets.warehouse import ensemble_key
from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system

__all__ = [
    "INHERENT",
    "QUENCHED",
    "SWAP_MC",
    "configurations",
    "initial_structures_key",
    "particle_rows",
    "sample_row",
]

#: ensemble names in the warehouse's ``ensemble`` column
QUENCHED = "quenched"
SWAP_MC = "swap_mc"
INHERENT = "inherent"


def configurations(samples: pl.DataFrame, particles: pl.DataFrame) -> dict[int, Configuration]:
    """Sample id → its Configuration, rebuilt from rows of the ``samples`` and ``particles`` tables."""
    boxes = {row["sample"]: (row["box_x"], row["box_y"]) for row in samples.iter_rows(named=True)}
    out = {}
    for (sample,), rows in particles.sort(["sample", "particle"]).group_by(["sample"], maintain_order=True):
        positions = np.column_stack([rows["x"].to_numpy(), rows["y"].to_numpy()])
        out[int(sample)] = Configuration(positions, rows["type"].to_numpy(), boxes[sample], rows["system"][0])
    return out


def particle_rows(key: dict, sample: int, positions: np.ndarray, types: np.ndarray) -> pl.DataFrame:
    """Rows of the ``particles`` table for one configuration of partition ``key``: positions (N, 2), types (N,)."""
    n = len(types)
    return pl.DataFrame(
        {
            **{k: [v] * n for k, v in key.items()},
            "sample": [sample] * n,
            "particle": np.arange(n, dtype=np.int32),
            "type": types.astype(np.int8),
            "x": positions[:, 0],
            "y": positions[:, 1],
        }
    )


def sample_row(
    key: dict,
    sample: int,
    seed: int,
    n_particles: int,
    box: tuple[float, float] | np.ndarray,
    potential_energy: float,
    energy_per_particle: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ``samples`` row: the partition ``key``, the sample's identity, box and energy, then ``extra`` columns.

    ``energy_per_particle`` defaults to ``potential_energy / n_particles``; pass it where it is the stored
    quantity (swap MC keeps the per-particle energy). ``extra``: ``kinetic_temperature``, ``md_steps``,
    ``wall_seconds``, ``protocol``, ``code_version``, ``run_id`` as the asset has them.
    """
    per_particle = potential_energy / n_particles if energy_per_particle is None else energy_per_particle
    return {
        **key,
        "sample": sample,
        "seed": seed,
        "n_particles": n_particles,
        "box_x": float(box[0]),
        "box_y": float(box[1]),
        "potential_energy": potential_energy,
        "energy_per_particle": per_particle,
        **extra,
    }


def initial_structures_key(system: str, temperature: float) -> dict[str, object]:
    """Where a propensity partition takes its initial configurations from.

    ``abm``/``kam``: the T_G glasses of the quench [O §II D]; ``ka2d_ternary``: the swap-MC equilibria at
    the run temperature [J].
    """
    temps = get_system(system).temperatures
    if "glass" in temps:
        return ensemble_key(system, temps["glass"], QUENCHED)
    return ensemble_key(system, temperature, SWAP_MC)
