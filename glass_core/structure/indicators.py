"""The per-particle structural indicators Oyama et al. compare with Grad-CAM [O §II C, §IV C].

For one configuration: the Voronoi area Υ_i (:mod:`glass_core.structure.voronoi`), the Tong–Tanaka order
parameter Θ_i (:mod:`glass_core.structure.tong_tanaka`), and their coarse-grained, min–max normalised forms
X̄_i = Σ_j X_j e^{−r_ij/ξ} / Σ_j e^{−r_ij/ξ} with ξ = 3 (:mod:`glass_core.structure.coarse_graining`), mapped to
[0, 1] per configuration. [O] correlates Γ with Υ and with 1 − Θ (high order = low Θ); since min–max
normalisation commutes with x → 1 − x, the normalised 1 − Θ is one minus the normalised Θ.

References: [O].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem
from glass_core.structure.coarse_graining import coarse_grain, minmax_normalise
from glass_core.structure.tong_tanaka import tong_tanaka
from glass_core.structure.voronoi import voronoi_cells

__all__ = ["COARSE_GRAINING_LENGTH", "StructuralIndicators", "normalised_coarse_grained", "structural_indicators"]

#: ξ of [O] (after Tong & Tanaka), in units of σ_AB.
COARSE_GRAINING_LENGTH = 3.0


@dataclass(frozen=True)
class StructuralIndicators:
    """(N,) arrays: raw Υ and Θ, and their coarse-grained normalised forms Ῡ and 1 − Θ̄ in [0, 1]."""

    voronoi_area: np.ndarray
    tong_tanaka: np.ndarray
    voronoi_area_cg: np.ndarray
    one_minus_theta_cg: np.ndarray


def normalised_coarse_grained(
    config: Configuration, values: np.ndarray, xi: float = COARSE_GRAINING_LENGTH
) -> np.ndarray:
    """minmax(X̄) of one or several (N,) / (N, K) fields, per configuration and per field."""
    return minmax_normalise(coarse_grain(config, values, xi), axis=0)


def structural_indicators(
    config: Configuration, system: ModelSystem, xi: float = COARSE_GRAINING_LENGTH
) -> StructuralIndicators:
    """Υ, Θ and their coarse-grained normalised forms for every particle of ``config``."""
    cells = voronoi_cells(config)
    theta = tong_tanaka(config, system, cells)
    smooth = normalised_coarse_grained(config, np.column_stack([cells.areas, theta]), xi)
    return StructuralIndicators(cells.areas, theta, smooth[:, 0], 1.0 - smooth[:, 1])
