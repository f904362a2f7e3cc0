"""Four-point susceptibility χ4 of a per-particle dynamic field over an ensemble of configurations.

Jung, Biroli & Berthier [J] eq. (9) (REFERENCE.md §6): with X_i the propensity (measured or predicted)
of particle i and Q = Σ_i X_i the global dynamic field of one configuration,

    χ4 = (⟨Q²⟩ − ⟨Q⟩²) / N,

⟨·⟩ over configurations of one state point. GlassMLP's apply script ([G], public StructDynGlass code)
also reports it normalised by the single-particle variance,

    χ4_norm = χ4 / (⟨X²⟩ − ⟨X⟩²),

⟨·⟩ there over all particles of all configurations; χ4_norm = 1 for independent particles and counts
the number of particles whose fluctuations are correlated. Say which one a plot shows.

Missing labels. Fields are (n_configurations, N) arrays; NaN marks a particle without a label (e.g. a
type the model does not predict) and is skipped. With n_c labelled particles in configuration c and
m_c = Q_c / n_c their mean, χ4 = n̄ (⟨m²⟩ − ⟨m⟩²) with n̄ the mean of n_c. For a constant n_c this is
exactly (⟨Q²⟩ − ⟨Q⟩²)/N; for a varying count it does not mistake the spread of n_c for dynamic
fluctuations.

Estimator. ⟨Q²⟩ − ⟨Q⟩² is the plain (ddof = 0) variance over configurations, as in [G]'s script; it is
low by a factor (n − 1)/n, negligible for the ≥ 20 configurations used in practice (``ddof=1`` gives the
unbiased one). Standard errors come from a seeded bootstrap over configurations (the configurations
are independent; particles within one are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FourPointSusceptibility", "TooFewConfigurationsError", "four_point_susceptibility"]


class TooFewConfigurationsError(ValueError):
    """χ4 is a variance over configurations: at least two labelled configurations are needed."""


@dataclass(frozen=True)
class FourPointSusceptibility:
    """χ4 over an ensemble, with bootstrap standard errors.

    Attributes:
        value: χ4 = (⟨Q²⟩ − ⟨Q⟩²)/N.
        stderr: bootstrap standard error of ``value`` (resampling configurations).
        n_configurations: configurations with at least one labelled particle.
        n_particles: mean number of labelled particles per configuration (N).
        normalised: χ4 / (⟨X²⟩ − ⟨X⟩²), the single-particle variance over all labelled particles.
        normalised_stderr: bootstrap standard error of ``normalised``.
        single_particle_variance: ⟨X²⟩ − ⟨X⟩².
        n_bootstrap: bootstrap resamples used.
    """

    value: float
    stderr: float
    n_configurations: int
    n_particles: float
    normalised: float
    normalised_stderr: float
    single_particle_variance: float
    n_bootstrap: int


def _per_configuration_moments(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, Σ X, Σ X²) over the labelled (non-NaN) particles of each configuration, each (n_conf,)."""
    labelled = ~np.isnan(fields)
    x = np.where(labelled, fields, 0.0)
    return labelled.sum(axis=1).astype(float), x.sum(axis=1), (x * x).sum(axis=1)


def _chi4_from_moments(
    count: np.ndarray, total: np.ndarray, total_sq: np.ndarray, ddof: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """χ4, χ4_norm and the single-particle variance from per-configuration moments.

    Arrays have shape (..., n_conf): the leading axes index bootstrap resamples.
    """
    n_conf = count.shape[-1]
    mean_per_conf = total / count
    n_bar = count.mean(axis=-1)
    spread = mean_per_conf.var(axis=-1) * n_conf / (n_conf - ddof)
    chi4 = n_bar * spread
    all_count = count.sum(axis=-1)
    single_mean = total.sum(axis=-1) / all_count
    single_var = total_sq.sum(axis=-1) / all_count - single_mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = chi4 / single_var
    return chi4, normalised, single_var


def four_point_susceptibility(
    fields: np.ndarray, n_bootstrap: int = 1000, seed: int = 0, ddof: int = 0
) -> FourPointSusceptibility:
    """χ4 and its normalised form from ``fields`` (n_configurations, N); NaN entries are skipped.

    Raises :class:`TooFewConfigurationsError` when fewer than two configurations carry labels, and
    ``ValueError`` for a field that is not 2D, a negative ``n_bootstrap`` or ``ddof`` outside {0, 1}.
    A field with zero single-particle variance gives ``normalised`` = NaN (0/0 has no meaning there).
    """
    fields = np.asarray(fields, dtype=np.float64)
    if fields.ndim != 2:
        raise ValueError(f"fields must have shape (n_configurations, N), got {fields.shape}")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be ≥ 2 to give a standard error, got {n_bootstrap}")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof}")
    count, total, total_sq = _per_configuration_moments(fields)
    keep = count > 0
    count, total, total_sq = count[keep], total[keep], total_sq[keep]
    n_conf = int(count.size)
    if n_conf < 2:
        raise TooFewConfigurationsError(
            f"χ4 is a variance over configurations and needs at least 2 labelled configurations, got {n_conf}"
        )
    chi4, normalised, single_var = _chi4_from_moments(count, total, total_sq, ddof)

    draws = np.random.default_rng(seed).integers(0, n_conf, size=(n_bootstrap, n_conf))
    boot, boot_norm, _ = _chi4_from_moments(count[draws], total[draws], total_sq[draws], ddof)
    chi4_err = float(np.std(boot, ddof=1))
    normalised_err = float(np.nanstd(boot_norm, ddof=1)) if np.isfinite(normalised) else float("nan")
    return FourPointSusceptibility(
        value=float(chi4),
        stderr=chi4_err,
        n_configurations=n_conf,
        n_particles=float(count.mean()),
        normalised=float(normalised),
        normalised_stderr=normalised_err,
        single_particle_variance=float(single_var),
        n_bootstrap=int(n_bootstrap),
    )
