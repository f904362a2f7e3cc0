"""Quality measures of a quenched or equilibrated configuration and of its cooling curve.

These are what the platform's checks assert: no overlapping particles, finite coordinates inside the
periodic box, and no crystallisation on cooling. [O] rules out crystallisation by the absence of
"discontinuous jumps in the energy" as a function of temperature (their Fig. S2); a first-order
freezing releases latent heat, i.e. a drop of the potential energy per particle over a narrow
temperature window, far larger than the smooth decrease of a liquid or glass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.models.configuration import Configuration
from glass_core.models.energy import neighbour_pairs
from glass_core.models.systems import ModelSystem

__all__ = ["EnergyJump", "coordinates_inside_box", "cooling_curve_jump", "min_scaled_distance"]


def min_scaled_distance(config: Configuration, system: ModelSystem) -> float:
    """min over pairs of r_ij / σ_{t_i t_j}; below ≈ 0.7 two particles overlap (V > 10³ ε)."""
    i, j, _ = neighbour_pairs(config, float(system.sigma.max()) + 1e-3)
    if i.size == 0:
        return float("inf")
    delta = config.minimum_image(config.positions[j] - config.positions[i])
    r = np.sqrt(np.einsum("ij,ij->i", delta, delta))
    return float(np.min(r / system.sigma[config.types[i], config.types[j]]))


def coordinates_inside_box(config: Configuration) -> bool:
    """True when every coordinate is finite and lies in [0, L) of its axis."""
    positions = config.positions
    box = np.asarray(config.box)
    return bool(np.all(np.isfinite(positions)) and np.all(positions >= 0.0) and np.all(positions < box))


@dataclass(frozen=True)
class EnergyJump:
    """Largest excess drop of the binned cooling curve E(T) between neighbouring temperature bins.

    Attributes:
        size: excess drop in energy per particle (drop minus the drop the local slope predicts).
        temperature: bin edge at which it happens.
        noise: standard error of that excess from the scatter within the two bins.
    """

    size: float
    temperature: float
    noise: float

    def is_jump(self, min_size: float = 0.1, n_sigma: float = 8.0) -> bool:
        """A jump is larger than ``min_size`` per particle and than ``n_sigma`` times its noise.

        The noise comes from ~10 points a bin, so excess/noise has heavy (Student-t) tails: over 160
        demo quenches (N = 256) of ABM and KAM the largest ratio was 5.6, hence the 8σ threshold.
        """
        return self.size > max(min_size, n_sigma * self.noise)


def cooling_curve_jump(t_set: np.ndarray, energy: np.ndarray, points_per_bin: int = 10) -> EnergyJump:
    """Find the largest discontinuity of E(T) along a cooling ramp.

    The curve is averaged in equal bins of the set temperature holding about ``points_per_bin`` points
    each. Across every window of two bin spacings (so a step inside the middle bin is caught whole)
    the excess drop is (Ē_{k+2} − Ē_k) − s (T_{k+2} − T_k), with s the local slope dĒ/dT (median of the
    segments on either side of the window): the smooth decrease of a liquid or glass is subtracted and a latent-heat
    release stands out. Its noise is the
    standard error of the two bin means (scatter within each bin over √n), inflated by (1 + ρ)/(1 − ρ)
    for the lag-one autocorrelation ρ of successive thermo points.
    """
    t_set = np.asarray(t_set, float)
    energy = np.asarray(energy, float)
    n_bins = int(np.clip(t_set.size // points_per_bin, 4, 100))
    edges = np.linspace(t_set.min(), t_set.max(), n_bins + 1)
    which = np.clip(np.digitize(t_set, edges) - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    filled = counts > 1
    if filled.sum() < 4:
        return EnergyJump(0.0, float(t_set.min()), float("inf"))
    means = np.bincount(which, energy, n_bins)[filled] / counts[filled]
    squares = np.bincount(which, energy**2, n_bins)[filled] / counts[filled]
    sem2 = np.maximum(squares - means**2, 0.0) / (counts[filled] - 1)
    centres = 0.5 * (edges[1:] + edges[:-1])[filled]
    sem2 *= _correlation_inflation(energy - np.bincount(which, energy, n_bins)[which] / counts[which])
    slopes = np.diff(means) / np.diff(centres)
    # slope around each window k..k+2: median of up to four segments on either side of it (not the two
    # inside, which a step would bias), so the curvature of E(T) is not mistaken for a step
    local = np.array(
        [np.median(np.concatenate([slopes[max(0, k - 4) : k], slopes[k + 2 : k + 6]])) for k in range(means.size - 2)]
    )
    excess = (means[2:] - means[:-2]) - local * (centres[2:] - centres[:-2])  # bins ascend in T
    noise = np.sqrt(sem2[2:] + sem2[:-2])
    k = int(np.argmax(excess / np.maximum(noise, 1e-12)))
    return EnergyJump(float(excess[k]), float(centres[k + 1]), float(noise[k]))


def _correlation_inflation(residuals: np.ndarray) -> float:
    """Variance inflation (1 + ρ)/(1 − ρ) of a mean of AR(1)-correlated points, ρ the lag-one correlation."""
    if residuals.size < 3 or np.std(residuals) == 0:
        return 1.0
    rho = float(np.clip(np.corrcoef(residuals[:-1], residuals[1:])[0, 1], 0.0, 0.9))
    return (1.0 + rho) / (1.0 - rho)
