"""The three 2D model glass formers of the platform, as data.

Every system is periodic, two-dimensional, in Lennard-Jones units with unit masses.

- ``abm``: additive binary mixture, 1:1, density 1.2, shifted-force LJ [O].
- ``kam``: 2D Kob–Andersen mixture, 65:35, density 1.09, shifted-force LJ [O].
  Oyama et al.'s Table I swaps ε_AB/ε_BB and N_A/N_B; their text ("most stable when different species
  are in contact") and their public MD code use the standard 2D KA values kept here:
  ε_AB = 1.5, ε_BB = 0.5, N_A : N_B = 65 : 35.
- ``ka2d_ternary``: ternary 2D Kob–Andersen liquid, 600:330:360, density 1290/32.8962², with the
  C²-smooth LJ of [G] and [J] (the 2D Kob–Andersen mixture [KA95] with a third species [POB20]).

References: [O]; [G]; [J]; [KA95]; [POB20].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

__all__ = [
    "SYSTEMS",
    "ModelSystem",
    "PotentialForm",
    "UnknownSystemError",
    "get_system",
]


class PotentialForm(StrEnum):
    """Functional form of the pair potential (see :mod:`glass_core.models.pair_potentials`)."""

    LJ_SHIFTED_FORCE = "lj_shifted_force"
    """φ(r) = φ*(r) − φ*(r_c) − (r − r_c) φ*'(r_c), LAMMPS ``lj/smooth/linear`` [O eq. 1–2]."""

    LJ_SMOOTH_C2 = "lj_smooth_c2"
    """V(r) = 4ε[(σ/r)¹² − (σ/r)⁶ + C0 + C2 (r/σ)² + C4 (r/σ)⁴]; V, V', V'' vanish at r_c [J]."""


class UnknownSystemError(ValueError):
    """Raised for a system name that is not one of :data:`SYSTEMS`."""


@dataclass(frozen=True)
class ModelSystem:
    """A 2D multi-component pair-potential glass former.

    Attributes:
        name: short key used in partitions and tables.
        type_names: particle species, type index i ↔ ``type_names[i]``.
        composition: number of particles of each type in the paper's system (sums to ``n_paper``).
        density: number density N / A.
        sigma: (n_types, n_types) symmetric interaction ranges σ_ij.
        epsilon: (n_types, n_types) symmetric interaction energies ε_ij.
        cutoff_factor: r_c,ij = cutoff_factor × σ_ij.
        potential: the pair potential form.
        md_timestep: MD time step in LJ time units.
        temperatures: named reference temperatures: ``liquid`` (T_L) and ``glass`` (T_G) of the quench, and
            ``t_star`` (T*, [O]'s characteristic temperature; the propensity runs go from T* to 1.5 T*).
        radical_voronoi_radii: radius of each type for the radical (Laguerre) tessellation of the
            physics-inspired descriptors [J] (ka2d_ternary: 0.5, 0.44, 0.47); empty where none is defined.
    """

    name: str
    type_names: tuple[str, ...]
    composition: tuple[int, ...]
    density: float
    sigma: np.ndarray
    epsilon: np.ndarray
    potential: PotentialForm
    md_timestep: float
    cutoff_factor: float = 2.5
    temperatures: dict[str, float] = field(default_factory=dict)
    radical_voronoi_radii: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        n = self.n_types
        for label, table in (("sigma", self.sigma), ("epsilon", self.epsilon)):
            if table.shape != (n, n) or not np.allclose(table, table.T):
                raise ValueError(f"{self.name}: {label} must be a symmetric {n}x{n} table")
        if len(self.composition) != n:
            raise ValueError(f"{self.name}: composition needs one entry per type")

    @property
    def n_types(self) -> int:
        return len(self.type_names)

    @property
    def n_paper(self) -> int:
        """Number of particles in the paper's simulation box."""
        return int(sum(self.composition))

    @property
    def cutoff(self) -> np.ndarray:
        """(n_types, n_types) cutoff radii r_c,ij = 2.5 σ_ij."""
        return self.cutoff_factor * self.sigma

    @property
    def max_cutoff(self) -> float:
        return float(self.cutoff.max())

    def type_counts(self, n_particles: int) -> np.ndarray:
        """Particles per type for a box of ``n_particles``, keeping the paper's fractions.

        Rounds with the largest-remainder rule so the counts sum to ``n_particles`` exactly.
        """
        if n_particles < self.n_types:
            raise ValueError(f"{self.name}: need at least {self.n_types} particles, got {n_particles}")
        fractions = np.asarray(self.composition, float) / self.n_paper
        exact = fractions * n_particles
        counts = np.floor(exact).astype(int)
        remainder = n_particles - counts.sum()
        counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
        return counts

    def box_length(self, n_particles: int) -> float:
        """Side of the square box holding ``n_particles`` at the system's density."""
        return float(np.sqrt(n_particles / self.density))


def _symmetric(diagonal: list[float], off: dict[tuple[int, int], float]) -> np.ndarray:
    table = np.diag(np.asarray(diagonal, float))
    for (i, j), value in off.items():
        table[i, j] = table[j, i] = value
    table.setflags(write=False)
    return table


SYSTEMS: dict[str, ModelSystem] = {
    "abm": ModelSystem(
        name="abm",
        type_names=("A", "B"),
        composition=(1000, 1000),
        density=1.2,
        sigma=_symmetric([5.0 / 6.0, 7.0 / 6.0], {(0, 1): 1.0}),
        epsilon=_symmetric([1.0, 1.0], {(0, 1): 1.0}),
        potential=PotentialForm.LJ_SHIFTED_FORCE,
        md_timestep=0.005,
        temperatures={"liquid": 2.0, "glass": 0.05, "t_star": 1.0},
    ),
    "kam": ModelSystem(
        name="kam",
        type_names=("A", "B"),
        composition=(1300, 700),
        density=1.09,
        sigma=_symmetric([1.0, 0.88], {(0, 1): 0.8}),
        epsilon=_symmetric([1.0, 0.5], {(0, 1): 1.5}),
        potential=PotentialForm.LJ_SHIFTED_FORCE,
        md_timestep=0.005,
        temperatures={"liquid": 0.8, "glass": 0.05, "t_star": 0.37},
    ),
    "ka2d_ternary": ModelSystem(
        name="ka2d_ternary",
        type_names=("A", "B", "C"),
        composition=(600, 330, 360),
        density=1290.0 / 32.8962**2,
        sigma=_symmetric([1.0, 0.88, 0.94], {(0, 1): 0.8, (0, 2): 0.9, (1, 2): 0.8}),
        epsilon=_symmetric([1.0, 0.5, 0.75], {(0, 1): 1.5, (0, 2): 0.75, (1, 2): 1.5}),
        potential=PotentialForm.LJ_SMOOTH_C2,
        md_timestep=0.01,
        temperatures={},
        radical_voronoi_radii=(0.5, 0.44, 0.47),
    ),
}


def get_system(name: str) -> ModelSystem:
    """Return the model system called ``name``; raise :class:`UnknownSystemError` otherwise."""
    try:
        return SYSTEMS[name]
    except KeyError:
        known = ", ".join(sorted(SYSTEMS))
        raise UnknownSystemError(f"unknown system {name!r}; known systems: {known}") from None
