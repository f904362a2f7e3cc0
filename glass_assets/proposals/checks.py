"""Checks of ``campaign_proposals``: its costs come from measured compute, and every proposal has its numbers."""

import polars as pl

from glass_assets.checks import Check, CheckOutcome

__all__ = ["PROPOSAL_CHECKS"]


def costs_measured(costs: dict[str, float], **_: object) -> CheckOutcome:
    """Every cost the ranking uses comes from ``compute_usage`` rows (a zero cost would rank an action first)."""
    missing = sorted(name for name, value in costs.items() if not value > 0)
    return CheckOutcome(
        passed=not missing,
        description=f"no measured compute for: {', '.join(missing)}" if missing else "",
        metadata={"costs_cpu_s": costs},
    )


def proposals_have_numbers(table: pl.DataFrame, **_: object) -> CheckOutcome:
    """Each proposal has a finite gain and a positive cost."""
    bad = table.filter(~pl.col("gain").is_finite() | ~(pl.col("cpu_hours") > 0))
    return CheckOutcome(
        passed=table.height > 0 and bad.is_empty(),
        description="no proposal" if table.is_empty() else (
            f"{bad.height} proposal(s) without a finite gain or a positive cost" if bad.height else ""),
        metadata={"n_proposals": table.height},
    )


PROPOSAL_CHECKS = {
    "costs_measured": Check(
        costs_measured, "Every cost of the ranking is measured (compute_usage has rows for the work it prices).",
        warn_only=True,
    ),
    "proposals_have_numbers": Check(
        proposals_have_numbers, "Every proposal has a finite predicted gain and a positive CPU-hour cost.",
        blocking=True,
    ),
}
