"""Checks on a quenched-ensemble partition, evaluated on the data the asset just produced.

Each check is a function of the stored tables (so a test can hand it a crafted bad configuration) that
returns a :class:`~glass_assets.checks.CheckOutcome`; :func:`run_ensemble_checks` turns them into the
``AssetCheckResult``s the asset reports with its materialization (:mod:`glass_assets.checks`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from glass_assets.checks import (
    Check,
    CheckOutcome,
    lammps_energy_matches_numpy,
    no_overlaps,
)
from glass_core.models.configuration import Configuration
from glass_core.simulation.quench import hold_mean_temperature
from glass_core.structure.ensemble_quality import cooling_curve_jump, coordinates_inside_box

__all__ = ["ENSEMBLE_CHECKS"]


#: relative tolerance of |⟨T_kin⟩ − T| / T over the second half of the hold, and its absolute floor.
TEMPERATURE_TOLERANCE = 0.1


def coordinates_finite_in_box(configs: dict[int, Configuration], **_: object) -> CheckOutcome:
    bad = sorted(k for k, c in configs.items() if not coordinates_inside_box(c))
    return CheckOutcome(
        passed=not bad,
        metadata={"bad_samples": str(bad[:20]), "n_bad": len(bad)},
    )


def kinetic_temperature_on_target(temperature: float, curves: pl.DataFrame, **_: object) -> CheckOutcome:
    deviations = {}
    for (sample,), rows in curves.group_by(["sample"], maintain_order=True):
        thermo = {
            "phase": rows["phase"].replace_strict({"equil": 0, "cool": 1, "hold": 2}).to_numpy(),
            "temperature": rows["kinetic_temperature"].to_numpy(),
        }
        deviations[int(sample)] = abs(hold_mean_temperature(thermo) - temperature) / temperature
    worst = max(deviations, key=deviations.get)
    return CheckOutcome(
        passed=deviations[worst] <= TEMPERATURE_TOLERANCE,
        metadata={
            "max_relative_deviation": deviations[worst],
            "worst_sample": worst,
            "mean_relative_deviation": float(np.mean(list(deviations.values()))),
            "tolerance": TEMPERATURE_TOLERANCE,
        },
    )


def no_crystallisation_jump(curves: pl.DataFrame, **_: object) -> CheckOutcome:
    jumps = {}
    for (sample,), rows in curves.filter(pl.col("phase") == "cool").group_by(["sample"], maintain_order=True):
        jumps[int(sample)] = cooling_curve_jump(rows["t_set"].to_numpy(), rows["energy_per_particle"].to_numpy())
    flagged = sorted(k for k, jump in jumps.items() if jump.is_jump())
    worst = max(jumps, key=lambda k: jumps[k].size)
    return CheckOutcome(
        passed=not flagged,
        metadata={
            "flagged_samples": str(flagged[:20]),
            "largest_jump_per_particle": jumps[worst].size,
            "largest_jump_temperature": jumps[worst].temperature,
            "largest_jump_noise": jumps[worst].noise,
        },
    )


ENSEMBLE_CHECKS = {
    "no_overlaps": Check(no_overlaps, "No two particles closer than 0.7 σ_ij.", blocking=True),
    "coordinates_finite_in_box": Check(
        coordinates_finite_in_box, "All coordinates finite and inside [0, L).", blocking=True
    ),
    "kinetic_temperature_on_target": Check(
        kinetic_temperature_on_target,
        "Mean kinetic temperature over the end of the run within 10% of the target.",
        warn_only=True,
    ),
    "no_crystallisation_jump": Check(
        no_crystallisation_jump, "No discontinuous drop of E(T) along the cooling ramp.", warn_only=True
    ),
    "lammps_energy_matches_numpy": Check(
        lammps_energy_matches_numpy,
        "LAMMPS energy of each stored configuration = glass_core numpy energy (rel. 1e-8).",
        blocking=True,
    ),
}
