"""Potential energy of a configuration, summed in numpy over freud neighbour pairs.

E = Σ_{i<j} V_{t_i t_j}(r_ij), and the per-particle energy E_i = ½ Σ_j V(r_ij) (so Σ_i E_i = E),
with V the system's pair potential (:mod:`glass_core.models.pair_potentials`) and r_ij the minimum-image
distance. This is independent of LAMMPS and is what the tests compare LAMMPS energies against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.models.configuration import Configuration
from glass_core.models.pair_potentials import pair_energy
from glass_core.models.systems import ModelSystem

__all__ = ["PotentialEnergy", "neighbour_pairs", "potential_energy"]


@dataclass(frozen=True)
class PotentialEnergy:
    """Total and per-particle potential energy (LJ units)."""

    total: float
    per_particle: np.ndarray

    @property
    def mean(self) -> float:
        """Energy per particle E / N."""
        return self.total / len(self.per_particle)


def neighbour_pairs(config: Configuration, r_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique pairs (i < j) closer than ``r_max`` under periodic boundaries.

    Uses freud's AABB query; returns ``(i, j, r_ij)``. Requires r_max < L/2 so each pair has one image.
    """
    import freud

    if r_max >= 0.5 * min(config.box):
        raise ValueError(f"cutoff {r_max:.3f} is not below half the box side {min(config.box):.3f}")
    points = config.freud_points()
    query = freud.locality.AABBQuery(config.freud_box(), points)
    nlist = query.query(points, {"r_max": r_max, "exclude_ii": True}).toNeighborList()
    i, j = nlist.query_point_indices, nlist.point_indices
    keep = i < j
    return i[keep].astype(np.int64), j[keep].astype(np.int64), np.asarray(nlist.distances[keep], float)


def potential_energy(config: Configuration, system: ModelSystem) -> PotentialEnergy:
    """Total and per-particle potential energy of ``config`` under ``system``'s pair potential.

    Distances are recomputed in float64 from the stored positions (freud works in float32, so its
    neighbour list only selects the pairs; a margin keeps pairs at the cutoff from being missed).
    """
    i, j, _ = neighbour_pairs(config, system.max_cutoff + 1e-3)
    delta = config.minimum_image(config.positions[j] - config.positions[i])
    r = np.sqrt(np.einsum("ij,ij->i", delta, delta))
    v = pair_energy(system, r, config.types[i], config.types[j])
    per_particle = 0.5 * (np.bincount(i, v, config.n_particles) + np.bincount(j, v, config.n_particles))
    return PotentialEnergy(float(v.sum()), per_particle)
