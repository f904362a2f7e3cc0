"""Is a Monte Carlo or MD chain in equilibrium? Compare the two halves of its production run.

For a stationary chain the mean of an observable (here E/N) over the first and second halves of the
production run agree within their statistical errors. Errors come from block averaging (Flyvbjerg &
Petersen, J. Chem. Phys. 91, 461 (1989)): each half is cut into ``n_blocks`` consecutive blocks,
long compared with the correlation time, and the standard error of a half's mean is
std(block means)/√(n_blocks − 1). A drift (still relaxing) shows as z = |Ē₁ − Ē₂| / √(s₁² + s₂²) ≫ 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HalfComparison", "compare_halves"]


@dataclass(frozen=True)
class HalfComparison:
    """Means of the two halves of a series, their difference and its standard error."""

    first: float
    second: float
    error: float

    @property
    def difference(self) -> float:
        return self.second - self.first

    @property
    def z(self) -> float:
        return abs(self.difference) / self.error if self.error > 0 else float("inf")

    def agrees(self, n_sigma: float = 3.0) -> bool:
        return self.z <= n_sigma


def _mean_and_error(series: np.ndarray, n_blocks: int) -> tuple[float, float]:
    blocks = np.array_split(series, n_blocks)
    means = np.array([b.mean() for b in blocks])
    return float(series.mean()), float(means.std(ddof=1) / np.sqrt(n_blocks))


def compare_halves(series: np.ndarray, n_blocks: int = 5) -> HalfComparison:
    """Compare the first and second halves of ``series`` (needs at least 2 × n_blocks points)."""
    series = np.asarray(series, float)
    if series.size < 2 * n_blocks or n_blocks < 2:
        raise ValueError(f"need at least {2 * n_blocks} points and 2 blocks, got {series.size} and {n_blocks}")
    half = series.size // 2
    m1, e1 = _mean_and_error(series[:half], n_blocks)
    m2, e2 = _mean_and_error(series[half : 2 * half], n_blocks)
    return HalfComparison(m1, m2, float(np.hypot(e1, e2)))
