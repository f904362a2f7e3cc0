"""Correlation of two per-particle fields within each configuration, and its summary over samples.

[O, §IV C] compares fields (Γ, Υ, 1 − Θ, 1 − Δ, each coarse-grained and normalised) through the
Pearson coefficient computed per configuration, then averages over the 600 test samples (violin
plots, mean and standard deviation); Spearman's rank coefficient gives consistent results [O, SM].

    Pearson   C(X, Y) = Σ_i (X_i − X̄)(Y_i − Ȳ) / √(Σ_i (X_i − X̄)² Σ_i (Y_i − Ȳ)²)
    Spearman  ρ_s(X, Y) = Pearson of the ranks (ties get their average rank)

A constant field has no defined correlation: NaN is returned, and summaries count such samples apart.

[O] Oyama, Koyama, Kawasaki, Front. Phys. 10 (2023), arXiv:2208.00349.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "CorrelationSummary",
    "correlation",
    "correlations_per_configuration",
    "pearson",
    "spearman",
    "summarise_correlations",
]

Method = Literal["pearson", "spearman"]


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
