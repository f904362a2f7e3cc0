"""Exponential spatial coarse graining of per-particle fields, and min–max normalisation.

Tong & Tanaka's coarse graining [TT19], used by [O] for every particle field (Γ, Υ, Θ, Δ) with ξ = 3.0:

    X̄_i = Σ_j X_j e^{−r_ij/ξ} / Σ_j e^{−r_ij/ξ},

the sum running over j = i (r = 0, weight 1) and every particle j with minimum-image distance
r_ij < r_cut. The default cut r_cut = 6ξ drops weights below e^{−6} ≈ 2.5×10⁻³; for a uniform
density it drops a fraction (1 + 6) e^{−6} ≈ 1.7 % of the total weight Σ_j e^{−r/ξ}. Each particle j is
counted once, at its minimum image: when r_cut exceeds half the box (small boxes) the sum is over all
particles of the box at their minimum-image distance, and further periodic images are not added.
ξ = 0 means the particle alone (X̄ = X).

The pair sum is a compiled (numba) loop over a cell list (cells of side ≥ r_cut; along a direction
with fewer than three cells every cell is searched, so small boxes reduce to all pairs); several fields
share one pass. Cost at N = 2000, ξ = 3 (all pairs, ≈ 1.2×10⁶ within the cut): ≈ 20–40 ms on one core.

References: [O]; [TT19].
"""

from __future__ import annotations

import math

import numba
import numpy as np

from glass_core.models.configuration import Configuration

__all__ = ["CUTOFF_FACTOR", "cell_order", "coarse_grain", "minmax_normalise"]

#: default cut of the coarse-graining sum, in units of ξ.
CUTOFF_FACTOR = 6.0

# fast-math without the no-NaN/no-inf assumptions, so NaN fields propagate as NaN
_FASTMATH = {"contract", "arcp", "afn", "reassoc"}


@numba.njit(cache=True, fastmath=_FASTMATH)
def _pair_sums(
    pos: np.ndarray,
    lx: float,
    ly: float,
    values: np.ndarray,
    inv_xi: float,
    rc2: float,
    cells: np.ndarray,
    cell_start: np.ndarray,
    ncx: int,
    ncy: int,
    num: np.ndarray,
    den: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add Σ_{j≠i, r_ij<r_cut} e^{−r_ij/ξ} (X_j, 1) to (num_i, den_i), each pair visited once.

    Particles are sorted by cell (``cells[i]`` = (cx, cy), cell c holding cell_start[c] ≤ i <
    cell_start[c+1]); with ≥ 3 cells along a direction the search covers the neighbouring cells
    −1, 0, +1, otherwise every cell along it once (all pairs). Positions lie in [0, L), so |Δx| < L
    and one shift by ±L gives the minimum image.
    """
    n, k = values.shape
    hx, hy = 0.5 * lx, 0.5 * ly
    nox, first_x = (3, -1) if ncx >= 3 else (ncx, 0)
    noy, first_y = (3, -1) if ncy >= 3 else (ncy, 0)
    acc = np.zeros(k)
    for i in range(n):
        xi, yi = pos[i, 0], pos[i, 1]
        total = 0.0
        acc[:] = 0.0
        for a in range(nox):
            for b in range(noy):
                other = ((cells[i, 0] + first_x + a) % ncx) * ncy + (cells[i, 1] + first_y + b) % ncy
                for j in range(max(cell_start[other], i + 1), cell_start[other + 1]):
                    dx = pos[j, 0] - xi
                    dy = pos[j, 1] - yi
                    if dx > hx:
                        dx -= lx
                    elif dx < -hx:
                        dx += lx
                    if dy > hy:
                        dy -= ly
                    elif dy < -hy:
                        dy += ly
                    r2 = dx * dx + dy * dy
                    if r2 < rc2:
                        w = math.exp(-math.sqrt(r2) * inv_xi)
                        total += w
                        den[j] += w
                        for c in range(k):
                            acc[c] += w * values[j, c]
                            num[j, c] += w * values[i, c]
        den[i] += total
        for c in range(k):
            num[i, c] += acc[c]


def cell_order(
    positions: np.ndarray, box: np.ndarray, r_cut: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Sort particles by cell (side ≥ r_cut), and inside a cell by strips of width r_cut/4 along x,
    then by y: nearby particles become nearby in loop order, which makes the cut test predictable
    (about 2× faster at N = 2000, ξ = 3). Returns (order, cells (N, 2) sorted, cell_start, ncx, ncy).
    """
    ncx, ncy = max(int(box[0] // r_cut), 1), max(int(box[1] // r_cut), 1)
    cx = np.minimum((positions[:, 0] / box[0] * ncx).astype(np.int64), ncx - 1)
    cy = np.minimum((positions[:, 1] / box[1] * ncy).astype(np.int64), ncy - 1)
    strip = np.floor(positions[:, 0] / (0.25 * r_cut))
    order = np.lexsort((positions[:, 1], strip, cx * ncy + cy))
    cell_start = np.searchsorted((cx * ncy + cy)[order], np.arange(ncx * ncy + 1))
    return order, np.stack((cx[order], cy[order]), axis=1), cell_start, ncx, ncy


def coarse_grain(
    config: Configuration,
    values: np.ndarray,
    xi: float = 3.0,
    cutoff: float | None = None,
) -> np.ndarray:
    """Exponentially coarse-grained field X̄_i = Σ_j X_j e^{−r_ij/ξ} / Σ_j e^{−r_ij/ξ} (j = i included).

    Args:
        config: positions and box.
        values: (N,) one field or (N, K) K fields coarse-grained in one pass.
        xi: coarse-graining length ξ ≥ 0 (0: the particle alone, values returned unchanged).
        cutoff: r_cut of the sum (default :data:`CUTOFF_FACTOR` × ξ).

    Returns:
        float64 array of the shape of ``values``. A constant field stays constant.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] != config.n_particles or values.ndim not in (1, 2):
        raise ValueError(f"values must have shape ({config.n_particles},) or ({config.n_particles}, K)")
    if xi < 0:
        raise ValueError(f"coarse-graining length must be ≥ 0, got {xi}")
    if xi == 0:
        return values.copy()
    r_cut = CUTOFF_FACTOR * xi if cutoff is None else float(cutoff)
    if r_cut <= 0:
        raise ValueError(f"cutoff must be positive, got {r_cut}")
    box = np.asarray(config.box, dtype=np.float64)
    positions = np.mod(config.positions, box)
    order, cells, cell_start, ncx, ncy = cell_order(positions, box, r_cut)
    table = np.ascontiguousarray(values.reshape(config.n_particles, -1)[order])
    num = table.copy()  # the j = i term, weight e^0 = 1
    den = np.ones(config.n_particles)
    _pair_sums(
        np.ascontiguousarray(positions[order]),
        box[0],
        box[1],
        table,
        1.0 / xi,
        r_cut * r_cut,
        cells,
        cell_start,
        ncx,
        ncy,
        num,
        den,
    )
    result = np.empty_like(num)
    result[order] = num / den[:, None]
    return result.reshape(values.shape)


def minmax_normalise(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """(x − min x) / (max x − min x) along ``axis`` (per configuration), into [0, 1].

    NaNs are ignored for the extremes and stay NaN; a constant field (max = min) maps to 0.
    """
    x = np.asarray(x, dtype=np.float64)
    low = np.nanmin(x, axis=axis, keepdims=True)
    span = np.nanmax(x, axis=axis, keepdims=True) - low
    return np.divide(x - low, span, out=np.zeros_like(x), where=span > 0) + np.where(np.isnan(x), np.nan, 0.0)
