r"""Tong–Tanaka bond-angle order parameter Θ [TT18]; [O] §III D.

For a particle $o$ with Voronoi neighbours ordered by angle around it, every two consecutive
neighbours $(i, j)$ share a Voronoi vertex with $o$ (they are "adjacent"). With $\theta^1_{ij}$ the measured
angle $i$–$o$–$j$ and $\theta^2_{ij}$ the angle of the ideal touching triangle of discs of radii $r_o, r_i, r_j$
(law of cosines), and the order parameter of particle $o$ ([O] eq. 6)

$$
\begin{aligned}
\cos\theta^2_{ij} &= \frac{(r_o + r_i)^2 + (r_o + r_j)^2 - (r_i + r_j)^2}{2\,(r_o + r_i)(r_o + r_j)}, \\
\Theta_o &= \frac{1}{N_o} \sum_{\text{adjacent } (i, j)} \left|\theta^1_{ij} - \theta^2_{ij}\right|,
\end{aligned}
$$

with $N_o$ the number of Voronoi neighbours of $o$ (= the number of adjacent pairs). $\Theta$ is in radians;
$\Theta_o = 0$ when $o$ and its neighbours form touching, ideally packed triangles, and grows with the local
frustration of packing (small $\Theta$ = well ordered).

Radii are $r_a = \sigma_{aa}/2$ (:func:`additive_radii`). For the additive ABM this is exact
($\sigma_{AB} = (\sigma_{AA} + \sigma_{BB})/2 = 1$). The Kob–Andersen mixture is non-additive ($\sigma_{AB} = 0.8$);
like [O] we use the additive approximation, i.e. the same $r_a = \sigma_{aa}/2$, which amounts to an A–B contact
distance $r_A + r_B = (\sigma_{AA} + \sigma_{BB})/2 = 0.94$ instead of $\sigma_{AB}$.

References: [O]; [TT18].
"""

from __future__ import annotations

import numpy as np

from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem
from glass_core.structure.voronoi import VoronoiCells, voronoi_cells

__all__ = ["additive_radii", "ideal_angles", "measured_angles", "tong_tanaka"]


def additive_radii(system: ModelSystem) -> np.ndarray:
    """(n_types,) radii r_a = σ_aa/2 of the additive approximation (KAM: σ_AB → 0.94)."""
    return 0.5 * np.diag(system.sigma).astype(np.float64)


def ideal_angles(r_o: np.ndarray, r_i: np.ndarray, r_j: np.ndarray) -> np.ndarray:
    """θ² of touching discs with radii r_o (centre), r_i, r_j (law of cosines); broadcasts, radians."""
    a = r_o + r_i
    b = r_o + r_j
    c = r_i + r_j
    return np.arccos(np.clip((a * a + b * b - c * c) / (2.0 * a * b), -1.0, 1.0))


def _angular_order(cells: VoronoiCells) -> tuple[np.ndarray, np.ndarray]:
    """Bond indices sorted by (centre, polar angle), and for each the index of the next bond
    counter-clockwise around the same centre (cyclic)."""
    phi = np.arctan2(cells.vectors[:, 1], cells.vectors[:, 0])
    order = np.lexsort((phi, cells.centre))
    counts = cells.n_neighbours
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.arange(order.size) - np.repeat(starts, counts)
    next_position = np.repeat(starts, counts) + (position + 1) % np.repeat(np.maximum(counts, 1), counts)
    return order, order[next_position]


def measured_angles(cells: VoronoiCells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angles θ¹ between angularly consecutive Voronoi neighbours of every particle.

    Returns:
        ``(bond_a, bond_b, theta1)``, three (M,) arrays: bond indices into ``cells``' bond arrays
        (neighbour pair (cells.neighbour[bond_a], cells.neighbour[bond_b]) around the centre
        cells.centre[bond_a]) and θ¹ ∈ [0, 2π), the counter-clockwise angle from bond a to bond b.
    """
    bond_a, bond_b = _angular_order(cells)
    u, v = cells.vectors[bond_a], cells.vectors[bond_b]
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1]
    return bond_a, bond_b, np.mod(np.arctan2(cross, dot), 2.0 * np.pi)


def tong_tanaka(
    config: Configuration,
    radii: np.ndarray | ModelSystem,
    cells: VoronoiCells | None = None,
) -> np.ndarray:
    r"""Per-particle Tong–Tanaka order parameter $\Theta_o$ (radians), [O] eq. 6.

    Args:
        config: the configuration.
        radii: (n_types,) disc radius per type, or a :class:`ModelSystem` (→ :func:`additive_radii`).
        cells: a tessellation of ``config`` already computed by :func:`voronoi_cells` (else computed).

    Returns:
        (N,) Θ. A particle with fewer than two neighbours (impossible in a proper 2D tessellation)
        gets NaN.
    """
    if isinstance(radii, ModelSystem):
        radii = additive_radii(radii)
    radii = np.asarray(radii, dtype=np.float64)
    cells = voronoi_cells(config) if cells is None else cells
    bond_a, bond_b, theta1 = measured_angles(cells)
    centre = cells.centre[bond_a]
    r = radii[config.types]
    theta2 = ideal_angles(r[centre], r[cells.neighbour[bond_a]], r[cells.neighbour[bond_b]])
    total = np.bincount(centre, np.abs(theta1 - theta2), minlength=config.n_particles)
    counts = cells.n_neighbours
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts >= 2, total / counts, np.nan)
