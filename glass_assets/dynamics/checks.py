"""Checks on a propensity-label partition, evaluated on the per-time summaries the asset just wrote."""

import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

__all__ = ["PROPENSITY_CHECKS", "propensity_check_specs", "run_propensity_checks"]

#: largest rise of the ensemble mean ⟨C_B⟩ between two frames still counted as noise
MONOTONE_TOLERANCE = 0.02


def _mean_curve(summary: pl.DataFrame) -> pl.DataFrame:
    return summary.group_by("frame").agg(pl.col("time").first(), pl.col("mean_bond_breaking").mean()).sort("frame")


def bond_breaking_decreases(summary: pl.DataFrame, **_: object) -> AssetCheckResult:
    curve = _mean_curve(summary)["mean_bond_breaking"].to_numpy()
    rise = float(np.max(np.diff(curve))) if curve.size > 1 else 0.0
    return AssetCheckResult(
        check_name="bond_breaking_decreases",
        passed=bool(curve.size > 1 and curve[-1] < curve[0] and rise <= MONOTONE_TOLERANCE),
        metadata={
            "first": float(curve[0]),
            "last": float(curve[-1]),
            "largest_rise": rise,
            "tolerance": MONOTONE_TOLERANCE,
        },
    )


def bond_breaking_in_unit_interval(labels: pl.DataFrame, **_: object) -> AssetCheckResult:
    values = labels["bond_breaking"].drop_nulls().drop_nans()
    lo, hi = float(values.min()), float(values.max())
    return AssetCheckResult(
        check_name="bond_breaking_in_unit_interval", passed=0.0 <= lo and hi <= 1.0, metadata={"min": lo, "max": hi}
    )


def replica_count_as_configured(summary: pl.DataFrame, n_replicas: int, **_: object) -> AssetCheckResult:
    counts = sorted(set(summary["n_replicas"].to_list()))
    return AssetCheckResult(
        check_name="replica_count_as_configured",
        passed=counts == [n_replicas],
        metadata={"configured": n_replicas, "found": str(counts)},
    )


def tau_alpha_found(summary: pl.DataFrame, **_: object) -> AssetCheckResult:
    """τ_α of the ensemble mean ⟨C_B⟩; fails (a warning) when ⟨C_B⟩ stays above 1/e: τ_α beyond the run."""
    from glass_core.propensity import relaxation_time

    curve = _mean_curve(summary)
    tau = relaxation_time(curve["time"].to_numpy(), curve["mean_bond_breaking"].to_numpy())
    return AssetCheckResult(
        check_name="tau_alpha_found",
        passed=tau is not None,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "tau_alpha": tau if tau is not None else float("nan"),
            "run_time": float(curve["time"].max()),
            "last_mean_bond_breaking": float(curve["mean_bond_breaking"][-1]),
        },
        description=None if tau is not None else "⟨C_B⟩ stays above 1/e: τ_α lies beyond the run",
    )


PROPENSITY_CHECKS = {
    "bond_breaking_decreases": (bond_breaking_decreases, "Ensemble mean ⟨C_B⟩ decreases with time."),
    "bond_breaking_in_unit_interval": (bond_breaking_in_unit_interval, "0 ≤ C_B ≤ 1 for every particle and time."),
    "replica_count_as_configured": (replica_count_as_configured, "Every configuration has the configured replicas."),
    "tau_alpha_found": (tau_alpha_found, "τ_α (⟨C_B⟩ = 1/e) is reached within the run, else flagged."),
}


def propensity_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(name, asset=asset_key, description=text) for name, (_, text) in PROPENSITY_CHECKS.items()]


def run_propensity_checks(labels: pl.DataFrame, summary: pl.DataFrame, n_replicas: int) -> list[AssetCheckResult]:
    return [check(labels=labels, summary=summary, n_replicas=n_replicas) for check, _ in PROPENSITY_CHECKS.values()]
