"""Checks of the cooling-rate study, evaluated on the glasses and rows before they are written.

Blocking: at every cooling rate no two particles closer than 0.7 σ_ij and the LAMMPS energy of each stored
glass equal to the numpy energy of the same pair potential (rel. 1e-8) — the checks every quenched ensemble
passes (:mod:`glass_assets.checks`) — and every defined Pearson/Spearman C(1−Θ,Υ) in [−1, 1].
Warning: slower cooling anneals deeper, so the mean energy per particle must not rise significantly (by
more than 2 SE) from a faster to a slower rate. Warning: every study CNN's validation accuracy is resolved above the
classifier gate (``cnn.gate_accuracy``, Wilson lower end at 2 SE); the C(Γ,·) of one that is not are no finding.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from glass_assets.checks import (
    Check,
    CheckOutcome,
    coefficients_in_range,
    lammps_energy_matches_numpy,
    no_overlaps,
)
from glass_assets.registry.cnn_split import GatedClassifier
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import RESOLUTION, difference, sample_mean
from glass_core.models.systems import ModelSystem

__all__ = ["COOLING_RATE_CHECKS", "RateGlasses"]


@dataclass(frozen=True)
class RateGlasses:
    """The glasses of one cooling rate: sample → configuration, and their ``samples`` rows (LAMMPS energies)."""

    configs: dict[int, Configuration]
    samples: pl.DataFrame


def at_every_rate(function: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
    """A configuration check (``function(system=, configs=, samples=)``) applied to the glasses of each rate:
    it passes when it passes at every rate; the figures are reported per rate."""

    def check(system: ModelSystem, glasses: Mapping[float, RateGlasses], **_: object) -> CheckOutcome:
        outcomes = {rate: function(system=system, configs=g.configs, samples=g.samples) for rate, g in glasses.items()}
        failed = [rate for rate, outcome in outcomes.items() if not outcome.passed]
        return CheckOutcome(
            passed=not failed,
            description="; ".join(f"rate {rate:g}: {outcomes[rate].description or 'failed'}" for rate in failed),
            metadata={f"rate_{rate:g}_{k}": v for rate, o in outcomes.items() for k, v in o.metadata.items()},
        )

    check.__doc__ = f"{function.__name__} at every cooling rate."
    return check


def correlations_are_coefficients(correlations: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every defined C(1−Θ,Υ) in [−1, 1], some defined."""
    return coefficients_in_range(correlations["value"], "cooling-rate correlations")


def slower_cooling_not_higher_energy(glasses: Mapping[float, RateGlasses], **_: object) -> CheckOutcome:
    """For consecutive rates γ_fast > γ_slow: mean E/N(γ_slow) − mean E/N(γ_fast) ≤ 2 SE (independent glasses)."""
    means = {
        rate: sample_mean(g.samples["energy_per_particle"].to_list())
        for rate, g in sorted(glasses.items(), reverse=True)
    }
    rates = list(means)
    rises = {}
    for fast, slow in zip(rates, rates[1:], strict=False):
        rise = difference(means[slow], means[fast])
        if rise.stderr is not None and rise.value > RESOLUTION * rise.stderr:
            rises[f"{fast:g}→{slow:g}"] = rise.value
    return CheckOutcome(
        passed=not rises,
        metadata={f"energy_per_particle_rate_{rate:g}": mean.mean for rate, mean in means.items()},
        description=f"mean E/N rises on slower cooling by more than {RESOLUTION:g} SE: {rises}" if rises else "",
    )


def study_cnns_resolved(classifiers: list[GatedClassifier], **_: object) -> CheckOutcome:
    """Every study CNN's validation accuracy is resolved above the gate (none trained: nothing to judge)."""
    unresolved = [c for c in classifiers if not c.resolved]
    return CheckOutcome(
        passed=not unresolved,
        metadata={c.name: f"{c.accuracy.text()} ({c.status}, gate {c.gate.threshold:g})" for c in classifiers},
        description="; ".join(f"{c.describe()}: {c.no_finding()}" for c in unresolved),
    )


COOLING_RATE_CHECKS = {
    "no_overlaps": Check(
        at_every_rate(no_overlaps), "No two particles closer than 0.7 σ_ij, at every rate.", blocking=True
    ),
    "lammps_energy_matches_numpy": Check(
        at_every_rate(lammps_energy_matches_numpy),
        "LAMMPS energy of each glass = glass_core numpy energy (rel. 1e-8), at every rate.",
        blocking=True,
    ),
    "correlations_are_coefficients": Check(
        correlations_are_coefficients, "Every defined C(1−Θ,Υ) in [−1, 1], some defined.", blocking=True
    ),
    "slower_cooling_not_higher_energy": Check(
        slower_cooling_not_higher_energy,
        "Mean E/N does not rise by more than 2 SE from a faster to a slower rate.",
        warn_only=True,
    ),
    "study_cnns_resolved": Check(
        study_cnns_resolved,
        "Every study CNN's validation accuracy is resolved above cnn.gate_accuracy: else its C(Γ,·) are no finding.",
        warn_only=True,
    ),
}
