"""Correlation of two per-particle fields within each configuration, and its summary over samples.

[O, §IV C] compares fields (Γ, Υ, 1 − Θ, 1 − Δ, each coarse-grained and normalised) through the
Pearson coefficient computed per configuration, then averages over the 600 test samples (violin
plots, mean and standard deviation); Spearman's rank coefficient gives consistent results [O, SM].

    Pearson   C(X, Y) = Σ_i (X_i − X̄)(Y_i − Ȳ) / √(Σ_i (X_i − X̄)² Σ_i (Y_i − Ȳ)²)
    Spearman  ρ_s(X, Y) = Pearson of the ranks (ties get their average rank)

A constant field has no defined correlation: NaN is returned, and summaries count such samples apart.

Fig. 4 of [O] follows the same recipe over time: for a glass whose isoconfigurational run gives the
cage-relative squared displacement Δ_i(t) (:mod:`glass_core.dynamics.propensity`), the curve is
C(Γ̄, 1 − Δ̄(t)) per frame (both coarse-grained at ξ and min–max normalised), plotted against the cage
clock δ(t) = (1/N) Σ_i √Δ_i(t); :func:`correlation_against_dynamics` computes it.

[O] Oyama, Koyama, Kawasaki, Front. Phys. 10 (2023), arXiv:2208.00349.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import rankdata

from glass_core.models.configuration import Configuration
from glass_core.structure.indicators import COARSE_GRAINING_LENGTH, normalised_coarse_grained

__all__ = [
    "METHODS",
    "CorrelationSummary",
    "correlation",
    "correlation_against_dynamics",
    "pair_correlations",
    "correlations_per_configuration",
    "pearson",
    "spearman",
    "summarise_correlations",
]

Method = Literal["pearson", "spearman"]
METHODS: tuple[Method, ...] = ("pearson", "spearman")


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1D fields of equal length, got {x.shape} and {y.shape}")
    return x, y


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson coefficient of two (N,) fields; NaN if either is constant or N < 2."""
    x, y = _check(x, y)
    dx, dy = x - x.mean(), y - y.mean()
    norm = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
    if len(x) < 2 or norm == 0 or not np.isfinite(norm):
        return float("nan")
    return float(np.clip(np.dot(dx, dy) / norm, -1.0, 1.0))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank coefficient of two (N,) fields (average ranks for ties); NaN if either is constant."""
    x, y = _check(x, y)
    return pearson(rankdata(x), rankdata(y))


def correlation(x: np.ndarray, y: np.ndarray, method: Method = "pearson") -> float:
    """Pearson or Spearman coefficient of two per-particle fields of one configuration."""
    if method == "pearson":
        return pearson(x, y)
    if method == "spearman":
        return spearman(x, y)
    raise ValueError(f"unknown correlation {method!r}: use 'pearson' or 'spearman'")


def correlations_per_configuration(
    xs: Iterable[np.ndarray], ys: Iterable[np.ndarray], method: Method = "pearson"
) -> np.ndarray:
    """(S,) coefficients C(X_s, Y_s), one per configuration s (fields paired in order)."""
    pairs = list(zip(xs, ys, strict=True))
    return np.array([correlation(x, y, method) for x, y in pairs], dtype=np.float64)


@dataclass(frozen=True)
class CorrelationSummary:
    """Mean and sample standard deviation (ddof = 1; NaN for n < 2) over the n configurations with a
    defined coefficient; ``n_undefined`` counts those with NaN (a constant field)."""

    mean: float
    std: float
    n: int
    n_undefined: int = 0


def summarise_correlations(values: Iterable[float]) -> CorrelationSummary:
    """Summarise per-configuration coefficients (e.g. C(Γ, Υ) over the test glasses)."""
    values = np.asarray(list(values), dtype=np.float64)
    defined = values[np.isfinite(values)]
    n = int(defined.size)
    mean = float(defined.mean()) if n else float("nan")
    std = float(defined.std(ddof=1)) if n >= 2 else float("nan")
    return CorrelationSummary(mean, std, n, int(values.size - n))


def pair_correlations(
    fields: Mapping[str, np.ndarray], pairs: Mapping[str, tuple[str, str]], methods: Iterable[Method] = METHODS
) -> dict[tuple[str, Method], float]:
    """(pair name, method) → C(fields[a], fields[b]) of one configuration, for each ``pairs[name] = (a, b)``.

    ``fields`` maps a field name to its (N,) per-particle values (e.g. ``gamma_cg``, ``voronoi_area_cg``).
    """
    methods = tuple(methods)
    return {(name, m): correlation(fields[a], fields[b], m) for name, (a, b) in pairs.items() for m in methods}


def correlation_against_dynamics(
    config: Configuration, gamma_cg: np.ndarray, crsd: np.ndarray, xi: float = COARSE_GRAINING_LENGTH
) -> np.ndarray:
    """[O] Fig. 4 for one glass: (T,) Pearson C(Γ̄, 1 − Δ̄(t)), one per frame.

    ``gamma_cg``: (N,) coarse-grained normalised Grad-CAM field of ``config``; ``crsd``: (T, N) Δ_i(t),
    particles in the order of ``config``. Δ of each frame is coarse-grained at ``xi`` and min–max
    normalised like Γ; a frame where Δ is constant (t = 0) gives NaN.
    """
    crsd = np.asarray(crsd, dtype=np.float64)
    if crsd.ndim != 2 or crsd.shape[1] != config.n_particles:
        raise ValueError(f"crsd must be (frames, {config.n_particles}), got {crsd.shape}")
    return np.array([pearson(gamma_cg, 1.0 - normalised_coarse_grained(config, frame, xi)) for frame in crsd])
