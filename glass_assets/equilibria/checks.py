"""Checks on swap-MC equilibria and on their inherent structures."""

import numpy as np
import polars as pl

from glass_assets.checks import (
    Check,
    CheckOutcome,
    lammps_energy_matches_numpy,
    no_overlaps,
)
from glass_core.dynamics.equilibration import stationarity_test
from glass_core.simulation.tiled_equilibration import DECORRELATED_OVERLAP

#: the equilibration check's level: the chance that it flags a stationary partition (all chains together)
EQUILIBRATION_ALPHA = 0.01


def equilibrated(traces: pl.DataFrame, equilibration_sweeps: int, **_: object) -> CheckOutcome:
    """No chain's production E/N drifts between its first and second half (Welch's t-test on blocks of ≥ 10 τ_int,
    :func:`glass_core.dynamics.equilibration.stationarity_test`) at level :data:`EQUILIBRATION_ALPHA` for all chains
    together (Bonferroni: α / n_chains each), so a stationary partition is flagged about 1 % of the time. A chain
    too short for its correlation time (not even 4 blocks of 2 τ_int per half) is reported, not judged."""
    tests = {
        int(chain): stationarity_test(rows.sort("sweep")["energy_per_particle"].to_numpy())
        for (chain,), rows in traces.filter(pl.col("sweep") > equilibration_sweeps).group_by(["chain"])
    }
    per_chain = EQUILIBRATION_ALPHA / len(tests)
    every = sorted({int(s) for s in traces["sweep"].to_list()})
    sweeps_per_point = float(np.median(np.diff(every))) if len(every) > 1 else float("nan")
    judged = {c: t for c, t in tests.items() if t.judged}
    worst = min(judged, key=lambda c: judged[c].p_value) if judged else next(iter(tests))
    test = tests[worst]
    drifting = sorted(c for c, t in judged.items() if t.p_value < per_chain)
    unjudged = sorted(c for c, t in tests.items() if not t.judged)
    metadata = {
        "worst_chain": worst,
        "first_half": test.first,
        "second_half": test.second,
        "standard_error": test.error,
        "t": test.t,
        "degrees_of_freedom": test.dof,
        "p_value": test.p_value,
        "alpha_per_chain": per_chain,
        "threshold": per_chain,  # the p-value below which a chain is flagged
        "tau_int_sweeps": test.tau_int * sweeps_per_point,
        "effective_samples": test.effective_samples,
        "blocks_per_half": test.n_blocks,
        "chains_too_short_to_judge": unjudged,
    }
    if drifting:
        description = (
            f"production E/N drifts in chain(s) {drifting}: chain {worst} first half {test.first:.5f}, second half "
            f"{test.second:.5f} (t = {test.t:.2f}, ν = {test.dof:.1f}, "
            f"p = {test.p_value:.2g} < threshold {per_chain:.3g})"
        )
    elif unjudged:
        description = (
            f"chain(s) {unjudged}: the production run holds fewer than 4 blocks of 2 τ_int per half "
            f"(τ_int ≈ {tests[unjudged[0]].tau_int * sweeps_per_point:.0f} sweeps): too short to judge equilibration"
        )
    else:
        description = (
            f"every chain stationary at α = {EQUILIBRATION_ALPHA} (worst: chain {worst}, p = {test.p_value:.2g}, "
            f"τ_int ≈ {test.tau_int * sweeps_per_point:.0f} sweeps, {test.effective_samples:.0f} effective samples)"
        )
    return CheckOutcome(passed=not drifting and not unjudged, metadata=metadata, description=description)


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
        "Production E/N: no chain's first and second halves differ (Welch's t on blocks of ≥ 10 τ_int; level 1 % "
        "for all chains together).",
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
