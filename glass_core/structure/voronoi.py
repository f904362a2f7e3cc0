"""Voronoi tessellation of a periodic 2D configuration: cell areas Υ and the Voronoi neighbour list.

The Voronoi cell of particle i is the set of points closer to r_i than to any other particle
(minimum-image distance in the periodic box); its area is the "Voronoi volume" Υ_i of Oyama et al.
[O, §III C]. Two particles are Voronoi neighbours when their cells share an edge (a "ridge"); the
neighbour list is what the Tong–Tanaka order parameter (:mod:`glass_core.structure.tong_tanaka`) and the
cage-relative displacement [O, §IV D] are built on.

The tessellation is freud's (``freud.locality.Voronoi``, voro++ underneath), the library [O] used.
It is the plain (unweighted) tessellation: freud has no radical/power (per-type radius weighted)
Voronoi, so Υ here follows [O] exactly, and a radical tessellation — which [J]/[G] use for the
Voronoi perimeter of ``ka2d_ternary`` with per-type radii — is not offered by this module. freud's input
is float32; areas come back in float64 and sum to the box area to ~1e-6.

References: [O].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.models.configuration import Configuration

__all__ = ["VoronoiCells", "voronoi_areas", "voronoi_cells"]


@dataclass(frozen=True)
class VoronoiCells:
    """Voronoi areas and neighbour bonds of one configuration.

    Bonds are directed: every neighbour pair appears as (o, i) and as (i, o). In a box so small that
    two cells share more than one edge (different periodic images), the pair appears once per edge,
    each with its own image vector.

    Attributes:
        areas: (N,) cell areas Υ_i.
        centre: (M,) index o of the particle whose cell it is, sorted ascending.
        neighbour: (M,) index i of the neighbouring particle.
        vectors: (M, 2) float64 r_i − r_o for the periodic image of i that shares the edge.
        ridge_lengths: (M,) length of the shared edge.
    """

    areas: np.ndarray
    centre: np.ndarray
    neighbour: np.ndarray
    vectors: np.ndarray
    ridge_lengths: np.ndarray

    @property
    def n_particles(self) -> int:
        return int(self.areas.shape[0])

    @property
    def n_neighbours(self) -> np.ndarray:
        """(N,) number of Voronoi neighbours (edges) of each cell."""
        return np.bincount(self.centre, minlength=self.n_particles)


def voronoi_cells(config: Configuration, min_ridge: float = 0.0) -> VoronoiCells:
    """Periodic Voronoi tessellation of ``config`` (freud).

    Args:
        config: the configuration; N ≥ 2 and a box large enough for voro++ (a few particles).
        min_ridge: bonds whose shared edge is not longer than this are dropped (0 keeps every
            edge of non-zero length; near-degenerate vertices give edges of ~1e-4 that are kept).

    Returns:
        :class:`VoronoiCells`. Bond vectors are recomputed in float64 from the stored positions,
        with the periodic image chosen by freud's float32 vector.
    """
    import freud

    voronoi = freud.locality.Voronoi()
    voronoi.compute((config.freud_box(), config.freud_points()))
    nlist = voronoi.nlist
    centre = np.asarray(nlist.query_point_indices, dtype=np.int64)
    neighbour = np.asarray(nlist.point_indices, dtype=np.int64)
    ridge = np.asarray(nlist.weights, dtype=np.float64)
    approx = np.asarray(nlist.vectors, dtype=np.float64)[:, :2]
    keep = ridge > min_ridge
    centre, neighbour, ridge, approx = centre[keep], neighbour[keep], ridge[keep], approx[keep]
    order = np.argsort(centre, kind="stable")
    centre, neighbour, ridge, approx = centre[order], neighbour[order], ridge[order], approx[order]
    raw = config.positions[neighbour] - config.positions[centre]
    box = np.asarray(config.box)
    vectors = raw + box * np.round((approx - raw) / box)
    return VoronoiCells(np.asarray(voronoi.volumes, dtype=np.float64), centre, neighbour, vectors, ridge)


def voronoi_areas(config: Configuration) -> np.ndarray:
    """(N,) Voronoi cell areas Υ_i of ``config`` [O, §III C]; they sum to the box area."""
    return voronoi_cells(config).areas
