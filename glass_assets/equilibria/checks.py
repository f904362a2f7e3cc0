"""Checks on swap-MC equilibria and on their inherent structures."""

import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from glass_assets.checks import (
    Check,
    CheckOutcome,
    check_results,
    check_specs,
    lammps_energy_matches_numpy,
    no_overlaps,
)
from glass_assets.tables import configurations
from glass_core.dynamics.equilibration import compare_halves
from glass_core.models.systems import ModelSystem

#: Q < 1/e between successive saved samples: decorrelated (Ninarello et al., PRX 7, 021039 (2017))
DECORRELATED_OVERLAP = float(np.exp(-1.0))
#: the halves of a chain's production E/N agree when they differ by at most this many standard errors
EQUILIBRATION_SIGMAS = 3.0


def equilibrated(traces: pl.DataFrame, equilibration_sweeps: int, **_: object) -> CheckOutcome:
    """Production E/N of the worst chain: first and second halves agree within 3 standard errors."""
    worst = None
    for (chain,), rows in traces.filter(pl.col("sweep") > equilibration_sweeps).group_by(["chain"]):
        comparison = compare_halves(rows.sort("sweep")["energy_per_particle"].to_numpy())
        if worst is None or comparison.z > worst[1].z:
            worst = (chain, comparison)
    chain, comparison = worst
    passed = comparison.agrees(EQUILIBRATION_SIGMAS)
    return CheckOutcome(
        passed=passed,
        metadata={
            "z": comparison.z,
            "threshold": EQUILIBRATION_SIGMAS,
            "worst_chain": int(chain),
            "first_half": comparison.first,
            "second_half": comparison.second,
            "standard_error": comparison.error,
        },
        description=(
            f"chain {int(chain)}: production E/N halves {comparison.first:.5f} and {comparison.second:.5f} differ by "
            f"z = {comparison.z:.2f} standard errors ({'≤' if passed else '>'} threshold {EQUILIBRATION_SIGMAS:g})"
        ),
    )


def decorrelated_samples(overlaps: list[float], **_: object) -> CheckOutcome:
    worst = float(np.max(overlaps))
    return CheckOutcome(
        passed=worst < DECORRELATED_OVERLAP,
        metadata={"max_typed_self_overlap": worst, "threshold": DECORRELATED_OVERLAP},
    )


def force_norm_small(minima: pl.DataFrame, force_tolerance: float, **_: object) -> CheckOutcome:
    largest = float(minima["force_norm"].max())
    return CheckOutcome(
        passed=largest <= 10 * force_tolerance, metadata={"max_force_norm": largest, "tolerance": force_tolerance}
    )


def energy_decreased(minima: pl.DataFrame, samples: pl.DataFrame, **_: object) -> CheckOutcome:
    drop = (minima["initial_energy"] - minima["energy"]) / samples["n_particles"]
    return CheckOutcome(
        passed=bool((minima["energy"] <= minima["initial_energy"]).all()),
        metadata={"mean_energy_drop_per_particle": float(drop.mean())},
    )


SWAP_MC_CHECKS = {
    "no_overlaps": Check(no_overlaps, "No two particles closer than 0.7 σ_ij.", blocking=True),
    "energy_matches_numpy": Check(
        lammps_energy_matches_numpy,
        "The chain's running energy = glass_core numpy energy of the stored sample (rel. 1e-8).",
        blocking=True,
    ),
    "equilibrated": Check(
        equilibrated,
        "Production E/N: first and second halves agree within 3 standard errors (every chain).",
        warn_only=True,
    ),
    "decorrelated_samples": Check(
        decorrelated_samples, "Typed self-overlap between successive saved samples below 1/e.", warn_only=True
    ),
}
INHERENT_CHECKS = {
    "force_norm_small": Check(
        force_norm_small, "|F|₂ at every minimum below 10 × the requested force tolerance.", blocking=True
    ),
    "no_overlaps": Check(no_overlaps, "No two particles closer than 0.7 σ_ij.", blocking=True),
    "energy_matches_numpy": Check(
        lammps_energy_matches_numpy,
        "LAMMPS energy of each minimum = glass_core numpy energy (rel. 1e-8).",
        blocking=True,
    ),
    "energy_decreased": Check(energy_decreased, "Every minimisation lowered the energy.", blocking=True),
}


def swap_mc_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return check_specs(asset_key, SWAP_MC_CHECKS)


def inherent_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return check_specs(asset_key, INHERENT_CHECKS)


def run_swap_mc_checks(
    system: ModelSystem, frames: dict[str, pl.DataFrame], equilibration_sweeps: int, overlaps: list[float]
) -> list[AssetCheckResult]:
    return check_results(
        SWAP_MC_CHECKS,
        system=system,
        configs=configurations(frames["samples"], frames["particles"]),
        samples=frames["samples"],
        traces=frames["swap_mc_traces"],
        equilibration_sweeps=equilibration_sweeps,
        overlaps=overlaps,
    )


def run_inherent_checks(
    system: ModelSystem, frames: dict[str, pl.DataFrame], minima: pl.DataFrame, force_tolerance: float
) -> list[AssetCheckResult]:
    return check_results(
        INHERENT_CHECKS,
        system=system,
        configs=configurations(frames["samples"], frames["particles"]),
        samples=frames["samples"],
        minima=minima,
        force_tolerance=force_tolerance,
    )
