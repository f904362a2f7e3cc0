"""Four-point structure factor S4(q) of a per-particle dynamic field, and the dynamic length ξ4.

Definition ([J] eq. (10)). For one configuration with labelled particles i = 1…N at
positions r_i carrying the field X_i (propensity), δX_i = X_i − X̄ with X̄ the mean over that
configuration's labelled particles, and

    S4(q) = (1/N) ⟨ |Σ_i δX_i e^{i q·r_i}|² ⟩,

⟨·⟩ over configurations and over the wave vectors of one |q| shell. The periodic box admits
q = 2π (n_x/L_x, n_y/L_y) with integer n; since the field is real, S4(−q) = S4(q) and only the half
plane (n_y > 0, or n_y = 0 < n_x) is evaluated. Shells: vectors with k = round(|q|/Δq) share shell k
(default Δq = 2π/max(L)), up to |q| ≤ q_max (default 2 σ⁻¹); each shell reports the mean |q| of its
vectors. Subtracting X̄ removes the X̄² S(q) density contribution; q = 0 is excluded. NaN labels
are skipped (N = the configuration's labelled count).

Two evaluations of the Fourier amplitudes F(q) = Σ_i δX_i e^{i q·r_i}:

- ``direct``: the sum over particles for every wave vector (numpy, chunked over vectors): O(N K).
- ``fast``: one type-1 non-uniform FFT (FINUFFT [BMK19]; PyPI ``finufft``) on x = 2π r/L onto all modes
  |n_x|, |n_y| ≤ n_max: O(N log(1/ε)² + M log M). At ε = 1e-14 both agree to ≈ 1e-14 relative
  (tests/core/dynamics/test_heterogeneity.py).
  N = 82 560, all 11 024 half-plane vectors with |q| ≤ 2: 0.09 s fast (one thread) against 116 s direct
  on this shared 2-core machine (``benchmarks/s4_speed.py``).

Dynamic length ([J] eq. (11) and App. C). At small q the Ornstein–Zernike form

    S4(q) = S4(0) / (1 + (q ξ4)²)                                   (model ``"oz"``)

defines ξ4. [J] App. C (following GlassMLP [G]) adds "a contribution of third order in q"; the
extracted paper text lost its eq. (12). We use

    S4(q) = S4(0) / (1 + (q ξ4)² + A (q ξ4)³)                        (model ``"oz_cubic"``)

with a dimensionless A, the form consistent with "the higher-order prefactor A … indicating that the
geometry of rearranging clusters is not significantly changing" (A depends on cluster shape, not size).
This is a reconstruction: compare A with [G]/[J] only after checking their eq. (12).

Fit. Least squares (scipy ``curve_fit``) of log S4 over the shells with q ≤ q_fit, each shell weighted
by its number of samples (error of log S4 = 1/√(vectors × configurations), see :func:`_log_sigma`).
Default model ``"oz"`` ([J] eq. (11)): on synthetic OZ fields (tests) the free A of ``"oz_cubic"``
triples the scatter of ξ4. With ``q_fit_max=None`` the range is self-consistent: q ≤
``fit_range_xi``/ξ4, starting from q ≤ 1 σ⁻¹ and refitting until the range stops changing. The start
values come from the linear OZ fit of 1/S4 against q². Parameter errors are the square roots of the
covariance diagonal (scaled by the reduced χ²). The verdict ``resolved`` is False — with a ``reason`` —
when fewer than ``min_fit_shells`` shells lie in the range, the fit does not converge or gives a
non-finite covariance, S4(0) or ξ4 is not positive, ξ4 exceeds ``max_xi_box_fraction`` of the shorter
box side, fewer than ``min_shells_below_inverse_xi`` shells lie below q = 1/ξ4 (no small-q plateau is
seen), fewer than ``min_shells_above_inverse_xi`` fitted shells lie above q = 1/ξ4 (no decay is seen: a
ξ4 below ≈ 1/q_max, e.g. of an uncorrelated field, is a flat S4 and only an upper bound), or ξ4's
relative error exceeds ``max_relative_error``. Callers turn resolved=False into a warning; the numbers
are still reported, never silently NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import curve_fit

__all__ = [
    "BoxTooSmallError",
    "FourPointStructureFactor",
    "OrnsteinZernikeFit",
    "WaveVectors",
    "fit_ornstein_zernike",
    "ornstein_zernike",
    "four_point_structure_factor",
    "fourier_amplitudes_direct",
    "fourier_amplitudes_nufft",
    "wave_vectors",
]

Method = Literal["fast", "direct"]
Model = Literal["oz", "oz_cubic"]


class BoxTooSmallError(ValueError):
    """The periodic box admits no wave vector (or too few) in the requested q range."""


# --------------------------------------------------------------------------------------------- wave vectors
@dataclass(frozen=True)
class WaveVectors:
    """The half-plane wave vectors of a periodic box with 0 < |q| ≤ q_max, grouped into |q| shells.

    Attributes:
        indices: (K, 2) integers (n_x, n_y); q = 2π (n_x/L_x, n_y/L_y).
        q: (K, 2) the wave vectors.
        magnitude: (K,) |q|.
        shell: (K,) shell index 0…n_shells−1 of each vector (shells without vectors are dropped).
        shell_q: (n_shells,) mean |q| of each shell's vectors.
        shell_count: (n_shells,) vectors per shell.
        shell_width: Δq.
        n_max: (2,) largest |n_x|, |n_y| used.
    """

    indices: np.ndarray
    q: np.ndarray
    magnitude: np.ndarray
    shell: np.ndarray
    shell_q: np.ndarray
    shell_count: np.ndarray
    shell_width: float
    n_max: tuple[int, int]


def wave_vectors(box: tuple[float, float], q_max: float = 2.0, shell_width: float | None = None) -> WaveVectors:
    """All half-plane q = 2π(n_x/L_x, n_y/L_y) with 0 < |q| ≤ q_max, in shells of width Δq.

    Default Δq = 2π/max(L_x, L_y). Raises :class:`BoxTooSmallError` when no vector has |q| ≤ q_max
    (the box is shorter than 2π/q_max) and ``ValueError`` for non-positive ``q_max`` or ``shell_width``.
    """
    lx, ly = float(box[0]), float(box[1])
    if not q_max > 0:
        raise ValueError(f"q_max must be positive, got {q_max}")
    width = 2.0 * math.pi / max(lx, ly) if shell_width is None else float(shell_width)
    if not width > 0:
        raise ValueError(f"shell_width must be positive, got {shell_width}")
    nx_max = int(math.floor(q_max * lx / (2.0 * math.pi) + 1e-9))
    ny_max = int(math.floor(q_max * ly / (2.0 * math.pi) + 1e-9))
    if nx_max < 1 and ny_max < 1:
        raise BoxTooSmallError(
            f"box {lx:.4g} × {ly:.4g} admits no wave vector with |q| ≤ q_max = {q_max}: the smallest is "
            f"2π/L = {2.0 * math.pi / max(lx, ly):.4g}"
        )
    nx, ny = np.meshgrid(np.arange(-nx_max, nx_max + 1), np.arange(0, ny_max + 1), indexing="ij")
    nx, ny = nx.ravel(), ny.ravel()
    upper = (ny > 0) | (nx > 0)
    q = 2.0 * math.pi * np.stack([nx / lx, ny / ly], axis=-1)
    magnitude = np.hypot(q[:, 0], q[:, 1])
    keep = upper & (magnitude <= q_max * (1.0 + 1e-12))
    indices = np.stack([nx[keep], ny[keep]], axis=-1)
    q, magnitude = q[keep], magnitude[keep]
    raw_shell = np.floor(magnitude / width + 0.5).astype(np.int64)
    occupied, shell = np.unique(raw_shell, return_inverse=True)
    shell_count = np.bincount(shell, minlength=occupied.size)
    shell_q = np.bincount(shell, weights=magnitude, minlength=occupied.size) / shell_count
    return WaveVectors(indices, q, magnitude, shell, shell_q, shell_count, width, (nx_max, ny_max))


# --------------------------------------------------------------------------------------------- amplitudes
def fourier_amplitudes_direct(
    positions: np.ndarray, weights: np.ndarray, q: np.ndarray, chunk_elements: int = 4_000_000
) -> np.ndarray:
    """F(q_k) = Σ_j w_j e^{i q_k·r_j} by the direct sum, chunked over wave vectors.

    ``positions`` (N, 2), ``weights`` (N,) real, ``q`` (K, 2); returns (K,) complex. Each chunk holds at
    most ``chunk_elements`` phases (N × chunk) in memory.
    """
    positions = np.asarray(positions, np.float64)
    weights = np.asarray(weights, np.float64)
    q = np.asarray(q, np.float64)
    out = np.empty(q.shape[0], np.complex128)
    step = max(1, chunk_elements // max(positions.shape[0], 1))
    for start in range(0, q.shape[0], step):
        phase = positions @ q[start : start + step].T
        out[start : start + step] = weights @ np.cos(phase) + 1j * (weights @ np.sin(phase))
    return out


def fourier_amplitudes_nufft(
    positions: np.ndarray,
    weights: np.ndarray,
    box: tuple[float, float],
    indices: np.ndarray,
    n_max: tuple[int, int],
    eps: float = 1e-14,
    n_threads: int | None = 1,
) -> np.ndarray:
    """F(q) for q = 2π(n_x/L_x, n_y/L_y), n = ``indices`` (K, 2), by one FINUFFT type-1 transform.

    The transform evaluates Σ_j w_j e^{i(k_x x_j + k_y y_j)}, x_j = 2π r_j/L ∈ [0, 2π), on all modes
    |k_x| ≤ n_max[0], |k_y| ≤ n_max[1]; the requested ones are picked out. ``eps`` is FINUFFT's relative
    tolerance (in the sum of |w_j|). ``n_threads`` = 1 by default: on this shared 2-core machine
    FINUFFT's OpenMP threads cost more than they save for small transforms (N = 4096, 41² modes: 4 ms
    on one thread, 40–110 ms on two under load); ``None`` lets FINUFFT choose.
    """
    import finufft

    positions = np.asarray(positions, np.float64)
    x = (2.0 * math.pi / box[0]) * np.mod(positions[:, 0], box[0])  # FINUFFT needs points in [−3π, 3π]
    y = (2.0 * math.pi / box[1]) * np.mod(positions[:, 1], box[1])
    modes = (2 * n_max[0] + 1, 2 * n_max[1] + 1)
    options = {} if n_threads is None else {"nthreads": int(n_threads)}
    grid = finufft.nufft2d1(
        x, y, np.asarray(weights, np.complex128), modes, eps=eps, isign=1, modeord=0, **options
    )  # grid[k_x + n_max_x, k_y + n_max_y]
    return grid[indices[:, 0] + n_max[0], indices[:, 1] + n_max[1]]


# --------------------------------------------------------------------------------------------- S4(q)
@dataclass(frozen=True)
class FourPointStructureFactor:
    """S4 averaged over |q| shells and configurations.

    Attributes:
        q: (n_shells,) mean |q| of each shell.
        s4: (n_shells,) S4 averaged over the shell's vectors and the configurations.
        stderr: (n_shells,) standard error over configurations (NaN for a single configuration).
        n_vectors: (n_shells,) half-plane vectors per shell.
        per_configuration: (n_conf, n_shells) each configuration's shell averages.
        n_configurations: configurations used.
        n_particles: mean labelled particles per configuration.
        box: the periodic box.
        shell_width, q_max: the shell binning.
        method: ``"fast"`` (FINUFFT) or ``"direct"``.
    """

    q: np.ndarray
    s4: np.ndarray
    stderr: np.ndarray
    n_vectors: np.ndarray
    per_configuration: np.ndarray
    n_configurations: int
    n_particles: float
    box: tuple[float, float]
    shell_width: float
    q_max: float
    method: str


def _as_ensemble(positions: np.ndarray, fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n_conf, N, 2) and fields (n_conf, N); a single (N, 2)/(N,) pair or shared positions
    (N, 2) with fields (n_conf, N) are broadcast."""
    positions = np.asarray(positions, np.float64)
    fields = np.asarray(fields, np.float64)
    if fields.ndim == 1:
        fields = fields[None]
    if positions.ndim == 2:
        positions = np.broadcast_to(positions, (fields.shape[0], *positions.shape))
    if positions.ndim != 3 or positions.shape[2] != 2 or positions.shape[:2] != fields.shape:
        raise ValueError(
            f"positions {positions.shape} and fields {fields.shape} must be (n_conf, N, 2) and (n_conf, N)"
        )
    return positions, fields


def four_point_structure_factor(
    positions: np.ndarray,
    fields: np.ndarray,
    box: tuple[float, float],
    q_max: float = 2.0,
    shell_width: float | None = None,
    method: Method = "fast",
    eps: float = 1e-14,
    n_threads: int | None = 1,
) -> FourPointStructureFactor:
    """S4(q) in |q| shells up to ``q_max`` (σ⁻¹) of ``fields`` (n_conf, N) at ``positions`` (n_conf, N, 2).

    ``positions`` may also be (N, 2), shared by all configurations (several labels of one structure).
    NaN field entries are skipped. ``method="fast"`` uses FINUFFT with tolerance ``eps``,
    ``"direct"`` the explicit sum. Raises :class:`BoxTooSmallError` when the box admits no vector up to
    ``q_max`` and ``ValueError`` for mismatched shapes, an unknown method or a configuration without
    labels.
    """
    if method not in ("fast", "direct"):
        raise ValueError(f"method must be 'fast' or 'direct', got {method!r}")
    positions, fields = _as_ensemble(positions, fields)
    box = (float(box[0]), float(box[1]))
    vectors = wave_vectors(box, q_max, shell_width)
    n_conf, n_shells = fields.shape[0], vectors.shell_q.size
    per_conf = np.empty((n_conf, n_shells))
    counts = np.empty(n_conf)
    for c in range(n_conf):
        labelled = ~np.isnan(fields[c])
        n = int(labelled.sum())
        if n == 0:
            raise ValueError(f"configuration {c} has no labelled particle (all NaN)")
        delta = fields[c, labelled] - fields[c, labelled].mean()
        r = positions[c, labelled]
        if method == "fast":
            amp = fourier_amplitudes_nufft(r, delta, box, vectors.indices, vectors.n_max, eps, n_threads)
        else:
            amp = fourier_amplitudes_direct(r, delta, vectors.q)
        s4_vectors = (amp.real**2 + amp.imag**2) / n
        per_conf[c] = np.bincount(vectors.shell, weights=s4_vectors, minlength=n_shells) / vectors.shell_count
        counts[c] = n
    stderr = per_conf.std(axis=0, ddof=1) / math.sqrt(n_conf) if n_conf > 1 else np.full(n_shells, np.nan)
    return FourPointStructureFactor(
        q=vectors.shell_q,
        s4=per_conf.mean(axis=0),
        stderr=stderr,
        n_vectors=vectors.shell_count,
        per_configuration=per_conf,
        n_configurations=n_conf,
        n_particles=float(counts.mean()),
        box=box,
        shell_width=vectors.shell_width,
        q_max=float(q_max),
        method=method,
    )


# --------------------------------------------------------------------------------------------- ξ4 fit
@dataclass(frozen=True)
class OrnsteinZernikeFit:
    """Small-q Ornstein–Zernike fit of S4(q) and its quality verdict.

    Attributes:
        resolved: True when a small-q plateau is resolved and the fit is trustworthy.
        reason: why not (empty when resolved).
        model: ``"oz"`` or ``"oz_cubic"``.
        s4_zero, s4_zero_stderr: S4(0) and its error.
        xi, xi_stderr: ξ4 (σ) and its error.
        cubic, cubic_stderr: A of the (qξ)³ term (0 and 0 for ``"oz"``).
        q_fit_max: upper end of the fitted q range.
        n_shells_fitted: shells used.
        n_shells_below_inverse_xi: shells with q < 1/ξ4.
        reduced_chi2: χ² per degree of freedom with the given weights.
    """

    resolved: bool
    reason: str
    model: str
    s4_zero: float
    s4_zero_stderr: float
    xi: float
    xi_stderr: float
    cubic: float
    cubic_stderr: float
    q_fit_max: float
    n_shells_fitted: int
    n_shells_below_inverse_xi: int
    reduced_chi2: float


def _oz(q: np.ndarray, s0: float, xi: float) -> np.ndarray:
    return s0 / (1.0 + (q * xi) ** 2)


def _oz_cubic(q: np.ndarray, s0: float, xi: float, a: float) -> np.ndarray:
    x = q * xi
    return s0 / (1.0 + x * x + a * x**3)


def ornstein_zernike(q: np.ndarray, s4_zero: float, xi: float, cubic: float = 0.0) -> np.ndarray:
    """S4(q) = S4(0) / (1 + (q ξ4)² + A (q ξ4)³) (``"oz_cubic"``; A = 0: ``"oz"``), the forms the fit uses: the curve
    of an :class:`OrnsteinZernikeFit` is ``ornstein_zernike(q, fit.s4_zero, fit.xi, fit.cubic)``."""
    return _oz_cubic(np.asarray(q, dtype=np.float64), s4_zero, xi, cubic)


def _linear_oz_start(q: np.ndarray, s4: np.ndarray) -> tuple[float, float]:
    """S4(0), ξ from the straight line 1/S4 = 1/S4(0) + (ξ²/S4(0)) q² (start values of the fit)."""
    slope, intercept = np.polyfit(q**2, 1.0 / s4, 1)
    if intercept <= 0:
        return float(s4[0]), 1.0
    return float(1.0 / intercept), float(math.sqrt(max(slope / intercept, 1e-4)))


def _log_sigma(result: FourPointStructureFactor) -> np.ndarray:
    """Per-shell error of log S4: 1/√(vectors × configurations), from the counts alone.

    A shell average of m independent |F(q)|² (exponentially distributed for a Gaussian field) has
    relative error 1/√m. Weights from the data themselves (the shells' own standard errors) would give
    the shells that fluctuated low the larger weight and bias ξ4; counts do not. The covariance is
    rescaled by the reduced χ², so the parameter errors follow the actual scatter.
    """
    return 1.0 / np.sqrt(result.n_vectors * result.n_configurations)


def _fit_once(
    q: np.ndarray, s4: np.ndarray, log_sigma: np.ndarray, model: Model, xi_max: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Parameters, their standard errors and the reduced χ² of one fit of log S4 (raises on failure).

    ξ is bounded by ``xi_max`` (the box side): without a plateau S4(0) and ξ run off together along a
    flat valley of the cost, and the bound stops that search early (the verdict then flags the fit).
    """
    s0, xi = _linear_oz_start(q, s4)
    xi = min(xi, 0.5 * xi_max)
    if model == "oz":
        start, bounds = [s0, xi], ([0.0, 0.0], [np.inf, xi_max])

        def log_model(q: np.ndarray, s0: float, xi: float) -> np.ndarray:
            return np.log(_oz(q, s0, xi))
    else:
        start, bounds = [s0, xi, 0.0], ([0.0, 0.0, -0.5], [np.inf, xi_max, np.inf])

        def log_model(q: np.ndarray, s0: float, xi: float, a: float) -> np.ndarray:
            return np.log(np.maximum(_oz_cubic(q, s0, xi, a), 1e-300))  # A < 0 may turn the denominator

    log_s4 = np.log(s4)
    params, cov = curve_fit(log_model, q, log_s4, p0=start, sigma=log_sigma, bounds=bounds, maxfev=5_000)
    dof = max(q.size - len(params), 1)
    chi2 = float(np.sum(((log_model(q, *params) - log_s4) / log_sigma) ** 2) / dof)
    return params, np.sqrt(np.diag(cov)), chi2


def fit_ornstein_zernike(
    result: FourPointStructureFactor,
    model: Model = "oz",
    q_fit_max: float | None = None,
    fit_range_xi: float = 2.0,
    min_fit_shells: int = 5,
    min_shells_below_inverse_xi: int = 3,
    min_shells_above_inverse_xi: int = 3,
    max_xi_box_fraction: float = 0.1,
    max_relative_error: float = 0.5,
) -> OrnsteinZernikeFit:
    """Fit S4(q) = S4(0)/(1 + (qξ)² [+ A (qξ)³]) at small q and judge whether ξ4 is resolved.

    ``q_fit_max`` fixes the range q ≤ q_fit_max; ``None`` makes it self-consistent, q ≤ fit_range_xi/ξ4
    (see the module docstring). Never raises on a bad fit: it returns ``resolved=False`` and a reason.
    """
    if model not in ("oz", "oz_cubic"):
        raise ValueError(f"model must be 'oz' or 'oz_cubic', got {model!r}")
    n_params = 2 if model == "oz" else 3
    q, s4, sigma = result.q, result.s4, _log_sigma(result)
    nan = float("nan")

    def failed(reason: str, q_max: float, n_fit: int) -> OrnsteinZernikeFit:
        return OrnsteinZernikeFit(False, reason, model, nan, nan, nan, nan, nan, nan, q_max, n_fit, 0, nan)

    upper = float(q_fit_max) if q_fit_max is not None else 1.0
    params = errors = None
    chi2 = nan
    for _ in range(1 if q_fit_max is not None else 10):
        use = q <= upper * (1.0 + 1e-12)
        n_fit = int(use.sum())
        if n_fit < max(min_fit_shells, n_params + 1):
            return failed(
                f"only {n_fit} |q| shells with q ≤ {upper:.3g} (need {max(min_fit_shells, n_params + 1)}): "
                f"box too small or ξ4 too large for the shell width {result.shell_width:.3g}",
                upper,
                n_fit,
            )
        if np.any(s4[use] <= 0):
            return failed("S4(q) is not positive in the fit range", upper, n_fit)
        try:
            params, errors, chi2 = _fit_once(q[use], s4[use], sigma[use], model, max(result.box))
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as error:
            return failed(f"fit did not converge: {error}", upper, n_fit)
        if q_fit_max is not None or not params[1] > 0:
            break
        new_upper = max(fit_range_xi / params[1], float(q[min(min_fit_shells, q.size) - 1]))
        if np.sum(q <= new_upper * (1.0 + 1e-12)) == n_fit:  # same shells: converged
            break
        upper = new_upper

    s0, xi = float(params[0]), float(params[1])
    s0_err, xi_err = float(errors[0]), float(errors[1])
    a, a_err = (float(params[2]), float(errors[2])) if model == "oz_cubic" else (0.0, 0.0)
    n_fit = int(np.sum(q <= upper * (1.0 + 1e-12)))
    below = int(np.sum(q < 1.0 / xi)) if xi > 0 else 0
    l_min = min(result.box)
    reasons = []
    if not np.all(np.isfinite(errors)):
        reasons.append("fit covariance is not finite (parameters not determined)")
    if not (s0 > 0 and xi > 0):
        reasons.append(f"non-positive fit parameters S4(0) = {s0:.3g}, ξ4 = {xi:.3g}")
    if xi > max_xi_box_fraction * l_min:
        reasons.append(f"ξ4 = {xi:.3g} exceeds {max_xi_box_fraction:g} of the box side {l_min:.4g}")
    above = int(np.sum((q > 1.0 / xi) & (q <= upper * (1.0 + 1e-12)))) if xi > 0 else 0
    if xi > 0 and above < min_shells_above_inverse_xi:
        reasons.append(
            f"only {above} fitted shells above q = 1/ξ4 = {1.0 / xi:.3g} (need {min_shells_above_inverse_xi}): "
            f"no decay of S4 resolved up to q = {float(q.max()):.3g}, ξ4 is at most an upper bound"
        )
    if below < min_shells_below_inverse_xi:
        reasons.append(
            f"only {below} shells below q = 1/ξ4 = {1.0 / xi if xi > 0 else math.inf:.3g} "
            f"(need {min_shells_below_inverse_xi}): no small-q plateau resolved"
        )
    if np.isfinite(xi_err) and xi > 0 and xi_err > max_relative_error * xi:
        reasons.append(f"ξ4 relative error {xi_err / xi:.2f} exceeds {max_relative_error:g}")
    return OrnsteinZernikeFit(
        resolved=not reasons,
        reason="; ".join(reasons),
        model=model,
        s4_zero=s0,
        s4_zero_stderr=s0_err,
        xi=xi,
        xi_stderr=xi_err,
        cubic=a,
        cubic_stderr=a_err,
        q_fit_max=float(min(upper, q.max())),
        n_shells_fitted=n_fit,
        n_shells_below_inverse_xi=below,
        reduced_chi2=chi2,
    )
