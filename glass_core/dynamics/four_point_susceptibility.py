r"""Four-point susceptibility χ4 of a per-particle dynamic field over an ensemble of configurations.

[J] eq. (9): with $X_i$ the propensity (measured or predicted) of particle $i$ and $Q = \sum_i X_i$ the global
dynamic field of one configuration,

$$
\chi_4 = \frac{\langle Q^2 \rangle - \langle Q \rangle^2}{N},
$$

$\langle\cdot\rangle$ over configurations of one state point. GlassMLP's apply script ([G], public [SDG] code)
also reports it normalised by the single-particle variance,

$$
\chi_4^\text{norm} = \frac{\chi_4}{\langle X^2 \rangle - \langle X \rangle^2},
$$

$\langle\cdot\rangle$ there over all particles of all configurations; $\chi_4^\text{norm} = 1$ for independent
particles and counts the number of particles whose fluctuations are correlated. Say which one a plot shows.

**Missing labels.** Fields are (n_configurations, N) arrays; NaN marks a particle without a label (e.g. a
type the model does not predict) and is skipped. With $n_c$ labelled particles in configuration $c$ and
$m_c = Q_c / n_c$ their mean, $\chi_4 = \bar n\, (\langle m^2 \rangle - \langle m \rangle^2)$ with $\bar n$ the mean
of $n_c$. For a constant $n_c$ this is exactly $(\langle Q^2 \rangle - \langle Q \rangle^2)/N$; for a varying count
it does not mistake the spread of $n_c$ for dynamic fluctuations.

**Full χ4 from split halves.** The propensity $X_i$ is an isoconfigurational average over $R$ replicas, so the
χ4 above is the *configurational* part [J]: the variance over configurations of the replica mean (it
still carries a thermal remainder $\langle \sigma^2_\text{th} \rangle / R$). The *full* χ4 of a single trajectory
(thermal + configurational, the usual dynamic susceptibility) needs the fluctuation of $Q$ between trajectories
of one configuration. The split halves — the averages over the even- and the odd-numbered replicas, of
$R_a = \lceil R/2 \rceil$ and $R_b = \lfloor R/2 \rfloor$ trajectories — give it without storing trajectories:
with $m_c, a_c, b_c$ the particle means of the full, even and odd averages of configuration $c$ and $\sigma^2_c$
the variance of a single trajectory's particle mean,
$E[(a_c - b_c)^2] = \sigma^2_c\, (1/R_a + 1/R_b)$ and
$\operatorname{Var}_\text{traj}(m) = \operatorname{Var}_c(E[m \mid c]) + \langle \sigma^2 \rangle$, so

$$
\chi_4^\text{full} = \bar n \left[ \operatorname{Var}_c(m_c)
    + \Big(1 - \frac{1}{R}\Big) \frac{\langle (a_c - b_c)^2 \rangle}{1/R_a + 1/R_b} \right],
$$

thermal part $\chi_4^\text{th} = \bar n \langle \sigma^2 \rangle$, configurational part (of the $R \to \infty$
propensity) $\chi_4^\text{full} - \chi_4^\text{th}$. For $R = 2$ each half is one trajectory and this is exactly the
variance over the $2 n_\text{conf}$ pooled trajectories.

**Estimator.** $\langle Q^2 \rangle - \langle Q \rangle^2$ is the plain (ddof = 0) variance over configurations, as in
[G]'s script; it is low by a factor $(n - 1)/n$, negligible for the ≥ 20 configurations used in practice
(``ddof=1`` gives the unbiased one). Standard errors come from a seeded bootstrap over configurations (the
configurations are independent; particles within one are not).

References: [J] eq. (9); [G].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "FourPointSusceptibility",
    "FullFourPointSusceptibility",
    "TooFewConfigurationsError",
    "four_point_susceptibility",
    "full_four_point_susceptibility",
]


class TooFewConfigurationsError(ValueError):
    """χ4 is a variance over configurations: at least two labelled configurations are needed."""


@dataclass(frozen=True)
class FourPointSusceptibility:
    r"""χ4 over an ensemble, with bootstrap standard errors.

    Attributes:
        value: $\chi_4 = (\langle Q^2 \rangle - \langle Q \rangle^2)/N$.
        stderr: bootstrap standard error of ``value`` (resampling configurations).
        n_configurations: configurations with at least one labelled particle.
        n_particles: mean number of labelled particles per configuration (N).
        normalised: $\chi_4 / (\langle X^2 \rangle - \langle X \rangle^2)$, the single-particle variance over all
            labelled particles.
        normalised_stderr: bootstrap standard error of ``normalised``.
        single_particle_variance: $\langle X^2 \rangle - \langle X \rangle^2$.
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


@dataclass(frozen=True)
class FullFourPointSusceptibility:
    r"""Full χ4 (thermal + configurational) of single trajectories, from replica means and split halves.

    Attributes:
        value: $\chi_4^\text{full} = \bar n\, [\operatorname{Var}_c(m_c) + (1 - 1/R)\, \langle (a_c - b_c)^2 \rangle
            / (1/R_a + 1/R_b)]$.
        stderr: bootstrap standard error (resampling configurations, with their halves).
        thermal: $\bar n \langle \sigma^2 \rangle$, the trajectory-to-trajectory part.
        configurational: value − thermal = n̄ [Var_c(m_c) − ⟨σ²⟩/R], the χ4 of the R → ∞ propensity: the
            χ4 of the finite-R labels less its thermal remainder n̄ ⟨σ²⟩/R. A structural predictor (no thermal
            noise) is compared with this one.
        configurational_stderr: its bootstrap standard error.
        n_configurations: configurations with at least one labelled particle.
        n_replicas: R.
        n_bootstrap: bootstrap resamples used.
    """

    value: float
    stderr: float
    thermal: float
    configurational: float
    n_configurations: int
    n_replicas: int
    n_bootstrap: int
    configurational_stderr: float = float("nan")


def _full_chi4(count: np.ndarray, mean: np.ndarray, diff: np.ndarray, n_replicas: int) -> tuple[np.ndarray, np.ndarray]:
    """(χ4_full, thermal) from per-configuration labelled count, mean and half difference; axes (..., n_conf)."""
    r_a, r_b = (n_replicas + 1) // 2, n_replicas // 2
    single_variance = (diff * diff).mean(axis=-1) / (1.0 / r_a + 1.0 / r_b)
    n_bar = count.mean(axis=-1)
    return n_bar * (mean.var(axis=-1) + (1.0 - 1.0 / n_replicas) * single_variance), n_bar * single_variance


def full_four_point_susceptibility(
    fields: np.ndarray,
    half_a: np.ndarray,
    half_b: np.ndarray,
    n_replicas: int,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> FullFourPointSusceptibility:
    """Full χ4 from the replica-mean ``fields`` and the even/odd split halves, each (n_configurations, N).

    A particle counts where all three are labelled (not NaN). Raises :class:`TooFewConfigurationsError`
    for fewer than two labelled configurations and ``ValueError`` for mismatched shapes, R < 2 (no
    thermal fluctuation can be seen with one replica) or ``n_bootstrap`` < 2.
    """
    fields, half_a, half_b = (np.asarray(f, dtype=np.float64) for f in (fields, half_a, half_b))
    if fields.ndim != 2 or half_a.shape != fields.shape or half_b.shape != fields.shape:
        raise ValueError(f"fields {fields.shape} and halves {half_a.shape}, {half_b.shape} must share (n_conf, N)")
    if n_replicas < 2:
        raise ValueError(f"the full χ4 needs at least 2 replicas per configuration, got {n_replicas}")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be ≥ 2 to give a standard error, got {n_bootstrap}")
    labelled = ~(np.isnan(fields) | np.isnan(half_a) | np.isnan(half_b))
    count = labelled.sum(axis=1).astype(float)
    keep = count > 0
    if int(keep.sum()) < 2:
        raise TooFewConfigurationsError(
            f"χ4 is a variance over configurations and needs at least 2 labelled configurations, got {int(keep.sum())}"
        )

    def particle_mean(values: np.ndarray) -> np.ndarray:
        return np.where(labelled, values, 0.0).sum(axis=1)[keep] / count[keep]

    count, mean = count[keep], particle_mean(fields)
    diff = particle_mean(half_a) - particle_mean(half_b)
    value, thermal = _full_chi4(count, mean, diff, n_replicas)
    draws = np.random.default_rng(seed).integers(0, count.size, size=(n_bootstrap, count.size))
    boot, boot_thermal = _full_chi4(count[draws], mean[draws], diff[draws], n_replicas)
    return FullFourPointSusceptibility(
        value=float(value),
        stderr=float(np.std(boot, ddof=1)),
        thermal=float(thermal),
        configurational=float(value - thermal),
        n_configurations=int(count.size),
        n_replicas=int(n_replicas),
        n_bootstrap=int(n_bootstrap),
        configurational_stderr=float(np.std(boot - boot_thermal, ddof=1)),
    )
