"""Checks on swap-MC equilibria and on their inherent structures."""

import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

from glass_assets.ensembles.checks import configurations, lammps_energy_matches_numpy, no_overlaps
from glass_core.equilibration import compare_halves
from glass_core.systems import ModelSystem

#: Q < 1/e between successive saved samples: decorrelated (Ninarello et al., PRX 7, 021039 (2017))
DECORRELATED_OVERLAP = float(np.exp(-1.0))

SWAP_MC_CHECKS = {
    "no_overlaps": ("No two particles closer than 0.7 σ_ij.", True),
    "energy_matches_numpy": (
        "The chain's running energy = glass_core numpy energy of the stored sample (rel. 1e-8).",
        True,
    ),
    "equilibrated": ("Production E/N: first and second halves agree within 3 standard errors (every chain).", False),
    "decorrelated_samples": ("Typed self-overlap between successive saved samples below 1/e.", False),
}
INHERENT_CHECKS = {
    "force_norm_small": ("|F|₂ at every minimum below 10 × the requested force tolerance.", True),
    "no_overlaps": ("No two particles closer than 0.7 σ_ij.", True),
    "energy_matches_numpy": ("LAMMPS energy of each minimum = glass_core numpy energy (rel. 1e-8).", True),
    "energy_decreased": ("Every minimisation lowered the energy.", True),
}


def _specs(asset: str, table: dict) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(name, asset=AssetKey(asset), description=text, blocking=blocking)
        for name, (text, blocking) in table.items()
    ]


def swap_mc_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return _specs(asset_key.to_user_string(), SWAP_MC_CHECKS)


def inherent_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return _specs(asset_key.to_user_string(), INHERENT_CHECKS)


def _result(name: str, table: dict, passed: bool, metadata: dict) -> AssetCheckResult:
    severity = AssetCheckSeverity.ERROR if table[name][1] else AssetCheckSeverity.WARN
    return AssetCheckResult(check_name=name, passed=bool(passed), severity=severity, metadata=metadata)


def equilibration(traces: pl.DataFrame, equilibration_sweeps: int) -> tuple[bool, dict]:
    worst = None
    for (chain,), rows in traces.filter(pl.col("sweep") > equilibration_sweeps).group_by(["chain"]):
        comparison = compare_halves(rows.sort("sweep")["energy_per_particle"].to_numpy())
        if worst is None or comparison.z > worst[1].z:
            worst = (chain, comparison)
    chain, comparison = worst
    return comparison.agrees(), {
        "worst_chain": int(chain),
        "z": comparison.z,
        "first_half": comparison.first,
        "second_half": comparison.second,
        "standard_error": comparison.error,
    }


def run_swap_mc_checks(
    system: ModelSystem, frames: dict[str, pl.DataFrame], equilibration_sweeps: int, overlaps: list[float]
) -> list[AssetCheckResult]:
    configs = configurations(frames["samples"], frames["particles"])
    overlap = no_overlaps(system, configs)
    energy = lammps_energy_matches_numpy(system, configs, frames["samples"])
    equilibrated, eq_meta = equilibration(frames["swap_mc_traces"], equilibration_sweeps)
    worst = float(np.max(overlaps))
    return [
        _result("no_overlaps", SWAP_MC_CHECKS, overlap.passed, overlap.metadata),
        _result("energy_matches_numpy", SWAP_MC_CHECKS, energy.passed, energy.metadata),
        _result("equilibrated", SWAP_MC_CHECKS, equilibrated, eq_meta),
        _result(
            "decorrelated_samples",
            SWAP_MC_CHECKS,
            worst < DECORRELATED_OVERLAP,
            {"max_typed_self_overlap": worst, "threshold": DECORRELATED_OVERLAP},
        ),
    ]


def run_inherent_checks(
    system: ModelSystem, frames: dict[str, pl.DataFrame], minima: pl.DataFrame, force_tolerance: float
) -> list[AssetCheckResult]:
    configs = configurations(frames["samples"], frames["particles"])
    overlap = no_overlaps(system, configs)
    energy = lammps_energy_matches_numpy(system, configs, frames["samples"])
    largest = float(minima["force_norm"].max())
    lowered = bool((minima["energy"] <= minima["initial_energy"]).all())
    return [
        _result(
            "force_norm_small",
            INHERENT_CHECKS,
            largest <= 10 * force_tolerance,
            {"max_force_norm": largest, "tolerance": force_tolerance},
        ),
        _result("no_overlaps", INHERENT_CHECKS, overlap.passed, overlap.metadata),
        _result("energy_matches_numpy", INHERENT_CHECKS, energy.passed, energy.metadata),
        _result(
            "energy_decreased",
            INHERENT_CHECKS,
            lowered,
            {
                "mean_energy_drop_per_particle": float(
                    ((minima["initial_energy"] - minima["energy"]) / frames["samples"]["n_particles"]).mean()
                )
            },
        ),
    ]
