"""Pair potentials as functions of distance, kept apart from the code that sums them.

Each function takes distances ``r`` (any shape) and broadcastable ``epsilon``, ``sigma`` and returns
the pair energy, zero at and beyond the cutoff r_c = 2.5 σ. They are the formulas the tests check at
analytic points (V(r_c) = 0, V'(r_c) = 0) and the reference the LAMMPS energies are compared with.
"""

from __future__ import annotations

import numpy as np

from glass_core.models.systems import ModelSystem, PotentialForm

__all__ = ["SMOOTH_C2_COEFFICIENTS", "lj", "lj_shifted_force", "lj_smooth_c2", "pair_energy"]

#: C0, C2, C4 of the C²-smooth LJ of [G] (r_c = 2.5 σ).
SMOOTH_C2_COEFFICIENTS = (0.04049023795, -0.00970155098, 0.00062012616)


def lj(r: np.ndarray, epsilon: np.ndarray | float, sigma: np.ndarray | float) -> np.ndarray:
    """Plain Lennard-Jones φ*(r) = 4ε[(σ/r)¹² − (σ/r)⁶]."""
    s6 = (np.asarray(sigma) / r) ** 6
    return 4.0 * epsilon * (s6 * s6 - s6)


def _lj_derivative(r: np.ndarray, epsilon: np.ndarray | float, sigma: np.ndarray | float) -> np.ndarray:
    """dφ*/dr = −(24ε/r)[2(σ/r)¹² − (σ/r)⁶]."""
    s6 = (np.asarray(sigma) / r) ** 6
    return -24.0 * epsilon / r * (2.0 * s6 * s6 - s6)


def lj_shifted_force(
    r: np.ndarray,
    epsilon: np.ndarray | float,
    sigma: np.ndarray | float,
    cutoff_factor: float = 2.5,
) -> np.ndarray:
    """Shifted-force LJ, [O] eq. 1–2 and LAMMPS ``lj/smooth/linear``.

    φ(r) = φ*(r) − φ*(r_c) − (r − r_c) φ*'(r_c) for r < r_c = cutoff_factor·σ, else 0.
    Energy and force are continuous at r_c.
    """
    r = np.asarray(r, float)
    rc = cutoff_factor * np.asarray(sigma, float)
    value = lj(r, epsilon, sigma) - lj(rc, epsilon, sigma) - (r - rc) * _lj_derivative(rc, epsilon, sigma)
    return np.where(r < rc, value, 0.0)


def lj_smooth_c2(
    r: np.ndarray,
    epsilon: np.ndarray | float,
    sigma: np.ndarray | float,
    cutoff_factor: float = 2.5,
) -> np.ndarray:
    """C²-smooth LJ of the ternary 2D KA liquid [G].

    V(r) = 4ε[(σ/r)¹² − (σ/r)⁶ + C0 + C2 (r/σ)² + C4 (r/σ)⁴] for r < 2.5 σ, else 0; the constants
    make V, V′ and V″ vanish at r_c = 2.5 σ.
    """
    r = np.asarray(r, float)
    sigma = np.asarray(sigma, float)
    c0, c2, c4 = SMOOTH_C2_COEFFICIENTS
    x2 = (r / sigma) ** 2
    value = lj(r, epsilon, sigma) + 4.0 * np.asarray(epsilon) * (c0 + c2 * x2 + c4 * x2 * x2)
    return np.where(r < cutoff_factor * sigma, value, 0.0)


def pair_energy(system: ModelSystem, r: np.ndarray, type_i: np.ndarray, type_j: np.ndarray) -> np.ndarray:
    """Pair energies of ``system`` at distances ``r`` between particles of types ``type_i``, ``type_j``."""
    eps = system.epsilon[type_i, type_j]
    sig = system.sigma[type_i, type_j]
    if system.potential is PotentialForm.LJ_SHIFTED_FORCE:
        return lj_shifted_force(r, eps, sig, system.cutoff_factor)
    if system.potential is PotentialForm.LJ_SMOOTH_C2:
        return lj_smooth_c2(r, eps, sig, system.cutoff_factor)
    raise ValueError(f"no pair formula for potential form {system.potential!r}")
