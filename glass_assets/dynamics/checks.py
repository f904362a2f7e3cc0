"""Checks on a propensity-label partition, evaluated on the per-time summaries the asset just wrote."""

import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from glass_assets.checks import Check, CheckOutcome, check_results, check_specs
from glass_core.dynamics.propensity import relaxation_time

__all__ = ["PROPENSITY_CHECKS", "propensity_check_specs", "run_propensity_checks"]

#: largest rise of the ensemble mean ⟨C_B⟩ between two frames still counted as noise
MONOTONE_TOLERANCE = 0.02


def _mean_curve(summary: pl.DataFrame) -> pl.DataFrame:
    return summary.group_by("frame").agg(pl.col("time").first(), pl.col("mean_bond_breaking").mean()).sort("frame")


def bond_breaking_decreases(summary: pl.DataFrame, **_: object) -> CheckOutcome:
    curve = _mean_curve(summary)["mean_bond_breaking"].to_numpy()
    rise = float(np.max(np.diff(curve))) if curve.size > 1 else 0.0
    return CheckOutcome(
        passed=bool(curve.size > 1 and curve[-1] < curve[0] and rise <= MONOTONE_TOLERANCE),
        metadata={
            "first": float(curve[0]),
            "last": float(curve[-1]),
            "largest_rise": rise,
            "tolerance": MONOTONE_TOLERANCE,
        },
    )


def bond_breaking_in_unit_interval(labels: pl.DataFrame, **_: object) -> CheckOutcome:
    values = labels["bond_breaking"].drop_nulls().drop_nans()
    lo, hi = float(values.min()), float(values.max())
    return CheckOutcome(passed=0.0 <= lo and hi <= 1.0, metadata={"min": lo, "max": hi})


def replica_count_as_configured(summary: pl.DataFrame, n_replicas: int, **_: object) -> CheckOutcome:
    counts = sorted(set(summary["n_replicas"].to_list()))
    return CheckOutcome(passed=counts == [n_replicas], metadata={"configured": n_replicas, "found": str(counts)})


def tau_alpha_found(summary: pl.DataFrame, **_: object) -> CheckOutcome:
    """τ_α of the ensemble mean ⟨C_B⟩; fails (a warning) when ⟨C_B⟩ stays above 1/e: τ_α beyond the run."""
    curve = _mean_curve(summary)
    tau = relaxation_time(curve["time"].to_numpy(), curve["mean_bond_breaking"].to_numpy())
    return CheckOutcome(
        passed=tau is not None,
        metadata={
            "tau_alpha": tau if tau is not None else float("nan"),
            "run_time": float(curve["time"].max()),
            "last_mean_bond_breaking": float(curve["mean_bond_breaking"][-1]),
        },
        description="" if tau is not None else "⟨C_B⟩ stays above 1/e: τ_α lies beyond the run",
    )


PROPENSITY_CHECKS = {
    "bond_breaking_decreases": Check(bond_breaking_decreases, "Ensemble mean ⟨C_B⟩ decreases with time."),
    "bond_breaking_in_unit_interval": Check(bond_breaking_in_unit_interval, "0 ≤ C_B ≤ 1 for every particle and time."),
    "replica_count_as_configured": Check(
        replica_count_as_configured, "Every configuration has the configured number of replicas."
    ),
    "tau_alpha_found": Check(
        tau_alpha_found, "τ_α (⟨C_B⟩ = 1/e) is reached within the run, else flagged.", warn_only=True
    ),
}


def propensity_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return check_specs(asset_key, PROPENSITY_CHECKS)


def run_propensity_checks(labels: pl.DataFrame, summary: pl.DataFrame, n_replicas: int) -> list[AssetCheckResult]:
    return check_results(PROPENSITY_CHECKS, labels=labels, summary=summary, n_replicas=n_replicas)
