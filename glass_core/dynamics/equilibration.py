"""Is a Monte Carlo or MD chain in equilibrium? Compare the two halves of its production run.

For a stationary chain the mean of an observable (here E/N) over the first and second halves of the
production run agree within their statistical errors. Errors come from block averaging (Flyvbjerg &
Petersen, J. Chem. Phys. 91, 461 (1989)): each half is cut into consecutive blocks, long compared with the
correlation time, and the standard error of a half's mean is std(block means, ddof = 1)/√k for k blocks.

:func:`stationarity_test` is the test the platform's ``equilibrated`` check uses. It measures the integrated
autocorrelation time τ_int of the series, its linear trend removed so that a drift does not pass for a long
correlation time (Sokal's automatic window [S97], c = 5: τ_int = 1/2 + Σ_{t=1}^{W} ρ(t) with the
smallest W ≥ c τ_int(W); the effective sample size is n / (2 τ_int)), cuts each half into k ≤ 20 blocks of at least
10 τ_int (so block means are nearly independent), and compares the halves with Welch's t: t = (Ē₂ − Ē₁) /
√(s₁² + s₂²), two-sided p-value from Student's t with ν = k − 1 degrees of freedom (the lower bound of Welch's
ν = (s₁² + s₂²)² / (s₁⁴ + s₂⁴) (k − 1), which leaves room for the small correlation left between block means; with
Welch's ν itself the check flagged 1.3–1.4 % of stationary AR(1) pairs at a nominal 1 %). A stationary series is
flagged with probability at most about α (the test's level), a drift (still relaxing) shows as p ≪ α. A half too
short for 4 blocks of 10 τ_int gets 4 shorter blocks; one too short for 4 blocks of 2 τ_int (fewer than ≈ 4
independent samples per half) is too short for its correlation time: no verdict.

:func:`compare_halves` (a fixed 5 blocks per half and |z| ≤ 3) is the earlier test. Its z has a t-like law with
≈ 8 degrees of freedom, not a normal one: on stationary AR(1) series of 1600 points it fires 1.6–2.0 % of the time
per chain (3.2–3.7 % for the worst of two chains), six to fourteen times the 0.27 % a "3 σ" rule suggests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "HalfComparison",
    "StationarityTest",
    "compare_halves",
    "effective_sample_size",
    "integrated_autocorrelation_time",
    "stationarity_test",
]


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


def integrated_autocorrelation_time(series: np.ndarray, c: float = 5.0) -> float:
    """τ_int of ``series`` in samples (1/2 for white noise): 1/2 + Σ_{t=1}^{W} ρ(t), W the smallest window with
    W ≥ c τ_int(W) (Sokal's automatic windowing); ρ from the FFT autocovariance (biased estimator). A constant
    series has τ_int = 1/2."""
    x = np.asarray(series, float)
    n = x.size
    if n < 2:
        raise ValueError(f"need at least 2 points, got {n}")
    x = x - x.mean()
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(x, size)
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum), size)[:n] / n
    if autocovariance[0] <= 0:
        return 0.5
    rho = autocovariance / autocovariance[0]
    tau = 0.5 + np.cumsum(rho[1:])
    windows = np.arange(1, n)
    good = windows >= c * tau
    window = int(np.argmax(good)) if good.any() else n - 2
    return float(max(tau[window], 0.5))


def effective_sample_size(series: np.ndarray) -> float:
    """n / (2 τ_int): the number of independent samples ``series`` is worth."""
    series = np.asarray(series, float)
    return series.size / (2.0 * integrated_autocorrelation_time(series))


@dataclass(frozen=True)
class StationarityTest:
    """Welch's t-test of the two halves' means on blocks of ≥ 10 τ_int (``p_value`` NaN: too short to judge)."""

    first: float
    second: float
    error: float
    t: float
    dof: float
    p_value: float
    tau_int: float
    effective_samples: float
    n_blocks: int
    block_length: int

    @property
    def judged(self) -> bool:
        return bool(np.isfinite(self.p_value))

    def stationary(self, alpha: float) -> bool:
        """No drift at level ``alpha`` (True also when the series is too short to be judged: see :attr:`judged`)."""
        return not self.judged or self.p_value >= alpha


def stationarity_test(
    series: np.ndarray, block_factor: float = 10.0, max_blocks: int = 20, min_blocks: int = 4
) -> StationarityTest:
    """Compare the halves of ``series`` with blocks of ≥ ``block_factor`` τ_int (at most ``max_blocks`` per half)."""
    from scipy.stats import t as student_t

    series = np.asarray(series, float)
    steps = np.arange(series.size)
    trend = np.polyval(np.polyfit(steps, series, 1), steps) if series.size > 2 else series.mean()
    tau = integrated_autocorrelation_time(series - trend)  # a drift would pass for a long correlation time
    ess = series.size / (2.0 * tau)
    half = series.size // 2
    length = max(1, int(np.ceil(block_factor * tau)))
    k = max(min_blocks, min(max_blocks, half // length))
    nan = float("nan")
    if half // k < 2.0 * tau:  # even ``min_blocks`` blocks would be shorter than 2 τ_int: too short to judge
        return StationarityTest(nan, nan, nan, nan, nan, nan, tau, ess, half // length, length)
    length = half // k  # use the whole half: k equal blocks, each still ≥ block_factor τ_int
    halves = [series[:half], series[half: 2 * half]]
    means, errors = [], []
    for part in halves:
        blocks = part[: k * length].reshape(k, length).mean(axis=1)
        means.append(float(part[: k * length].mean()))
        errors.append(float(blocks.std(ddof=1) / np.sqrt(k)))
    variance = errors[0] ** 2 + errors[1] ** 2
    if variance <= 0:
        difference = means[1] - means[0]
        p = 1.0 if difference == 0 else 0.0
        return StationarityTest(means[0], means[1], 0.0, float("inf") if p == 0 else 0.0, nan, p, tau, ess, k, length)
    t = (means[1] - means[0]) / np.sqrt(variance)
    dof = float(k - 1)  # the lower bound of Welch's ν: conservative where block means are slightly correlated
    p = float(2.0 * student_t.sf(abs(t), dof))
    return StationarityTest(means[0], means[1], float(np.sqrt(variance)), float(t), float(dof), p, tau, ess, k, length)
