"""Checks on the large tiled boxes and on S4(q)/ξ4 of the predicted propensity [J].

Each check is a plain function of in-memory tables (a test can hand it crafted bad data); the assets run
them before writing, and a failed blocking check writes nothing.
"""

import math

import numpy as np
import polars as pl

from glass_assets.checks import Check, CheckOutcome, no_overlaps
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem
from glass_core.simulation.tiled_equilibration import DECORRELATED_OVERLAP

__all__ = [
    "ENERGY_FLOOR",
    "LARGE_BOX_CHECKS",
    "S4_CHECKS",
    "composition_kept",
    "energy_matches_small_box",
    "overlap_below_threshold",
    "s4_finite",
    "small_q_plateau_resolved",
]

#: |ΔE/N| always tolerated between a large box and the small boxes (ε): finite-size effects and rounding
ENERGY_FLOOR = 0.005
#: |F|₂ of a large minimum may exceed the requested tolerance by this factor (as for the small inherent structures)
FORCE_FACTOR = 10.0


def overlap_below_threshold(traces: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every box's last self overlap with its tiled start is below 1/e: the tiling is forgotten."""
    last = traces.sort("sweep").group_by("sample", maintain_order=True).last()
    worst = last.sort("overlap", descending=True).row(0, named=True)
    return CheckOutcome(
        passed=worst["overlap"] < DECORRELATED_OVERLAP,
        metadata={
            "max_final_overlap": worst["overlap"],
            "worst_sample": worst["sample"],
            "sweeps_at_end": worst["sweep"],
            "threshold": DECORRELATED_OVERLAP,
        },
        description=(
            f"overlap with the tiled start reached {worst['overlap']:.3f} after {worst['sweep']} sweeps "
            f"(sample {worst['sample']}); decorrelated below 1/e = {DECORRELATED_OVERLAP:.3f}"
        ),
    )


def composition_kept(
    system: ModelSystem, large: dict[int, Configuration], small: dict[int, Configuration], tiles: int, **_: object
) -> CheckOutcome:
    """Each large box holds k² times the small box's particles of every type (swaps conserve composition)."""
    bad = {}
    for sample, config in large.items():
        expected = tiles * tiles * np.bincount(small[sample].types, minlength=system.n_types)
        found = np.bincount(config.types, minlength=system.n_types)
        if config.n_particles != tiles * tiles * small[sample].n_particles or not np.array_equal(found, expected):
            bad[sample] = {"expected": expected.tolist(), "found": found.tolist()}
    return CheckOutcome(passed=not bad, metadata={"mismatches": bad, "tiles_per_side": tiles})


def energy_matches_small_box(
    large_energies: np.ndarray, small_energies: np.ndarray, tiles: int, **_: object
) -> CheckOutcome:
    """Mean E/N of the large boxes = mean E/N of the small equilibria at the same T, within
    max(3 σ_Δ, ε): σ_Δ² = σ²/n_small + σ²/(k² n_large) with σ the small boxes' E/N spread (a box k² times
    larger fluctuates k times less), ε = :data:`ENERGY_FLOOR`."""
    large_energies, small_energies = np.asarray(large_energies), np.asarray(small_energies)
    spread = float(np.std(small_energies, ddof=1)) if small_energies.size > 1 else 0.0
    sigma = math.sqrt(spread**2 / small_energies.size + spread**2 / (tiles * tiles * large_energies.size))
    tolerance = max(3.0 * sigma, ENERGY_FLOOR)
    difference = float(large_energies.mean() - small_energies.mean())
    return CheckOutcome(
        passed=abs(difference) <= tolerance,
        metadata={
            "large_mean_energy_per_particle": float(large_energies.mean()),
            "small_mean_energy_per_particle": float(small_energies.mean()),
            "difference": difference,
            "tolerance": tolerance,
        },
        description=f"E/N large − small = {difference:+.4f} (tolerance {tolerance:.4f})",
    )


def minima_converged(force_norms: dict[int, float], force_tolerance: float, **_: object) -> CheckOutcome:
    worst = max(force_norms, key=force_norms.get)
    return CheckOutcome(
        passed=force_norms[worst] <= FORCE_FACTOR * force_tolerance,
        metadata={"max_force_norm": force_norms[worst], "worst_sample": worst, "tolerance": force_tolerance},
    )


def s4_finite(s4: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every S4(q) row is finite and ≥ 0 (a squared modulus), every stderr finite or NULL."""
    values = s4["s4"].to_numpy()
    errors = s4["stderr"].drop_nulls().to_numpy()
    passed = bool(s4.height > 0 and np.isfinite(values).all() and (values >= 0).all() and np.isfinite(errors).all())
    return CheckOutcome(
        passed=passed, metadata={"rows": s4.height, "min_s4": float(values.min()) if values.size else 0}
    )


def small_q_plateau_resolved(lengths: pl.DataFrame, **_: object) -> CheckOutcome:
    """ξ4 is resolved at every state point: a small-q plateau in the fit range (reasons per ⟨C_B⟩ otherwise)."""
    unresolved = lengths.filter(~pl.col("resolved"))
    reasons = {f"cb={row['target_cb']:g}": row["reason"] for row in unresolved.iter_rows(named=True)}
    return CheckOutcome(
        passed=unresolved.height == 0,
        metadata={"unresolved": reasons, "n_state_points": lengths.height},
        description="; ".join(f"⟨C_B⟩ = {k[3:]}: {v}" for k, v in reasons.items()) or "every ξ4 resolved",
    )


LARGE_BOX_CHECKS = {
    "no_overlaps": Check(no_overlaps, "No two particles of a large box closer than 0.7 σ_ij.", blocking=True),
    "composition_kept": Check(
        composition_kept, "Each large box holds k² × the small box's particles of every type.", blocking=True
    ),
    "minima_converged": Check(
        minima_converged, "|F|₂ of every large inherent structure below 10 × the force tolerance.", blocking=True
    ),
    "overlap_below_threshold": Check(
        overlap_below_threshold,
        "Swap MC ran until the overlap with the tiled start fell below 1/e (else the sweep cap was hit).",
        warn_only=True,
    ),
    "energy_matches_small_box": Check(
        energy_matches_small_box,
        "Mean E/N of the large boxes = the small equilibria's at the same T, within 3 standard errors (≥ 0.005).",
        warn_only=True,
    ),
}
S4_CHECKS = {
    "s4_finite": Check(s4_finite, "Every S4(q) row finite and non-negative.", blocking=True),
    "small_q_plateau_resolved": Check(
        small_q_plateau_resolved,
        "The Ornstein–Zernike fit resolves a small-q plateau at every state point (else ξ4 is NULL, with the reason).",
        warn_only=True,
    ),
}
