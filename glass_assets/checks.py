"""One way to declare and report asset checks, shared by every domain.

A domain lists its checks as :class:`Check` entries (function, description, whether a failure blocks
downstream assets, whether it is only a warning). Each check is a plain function of the tables the
asset just produced that returns a :class:`CheckOutcome`, so a test can hand it crafted bad data; the
asset declares :func:`check_specs` and reports :func:`check_results` with its materialization.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

from glass_core.models.configuration import Configuration
from glass_core.models.energy import potential_energy
from glass_core.models.systems import ModelSystem
from glass_core.structure.ensemble_quality import min_scaled_distance

__all__ = [
    "ENERGY_TOLERANCE",
    "OVERLAP_RATIO",
    "BlockingCheckFailed",
    "Check",
    "CheckOutcome",
    "check_results",
    "check_specs",
    "lammps_energy_matches_numpy",
    "no_overlaps",
    "raise_on_blocking_failure",
]

#: r_ij/σ_ij below this is an overlap: V(0.7σ) ≈ 3×10² ε, out of reach at T ≤ 4.
OVERLAP_RATIO = 0.7
#: relative tolerance of numpy vs LAMMPS total energy of the stored configuration.
ENERGY_TOLERANCE = 1e-8


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: pass or fail, a sentence for the UI, and the figures behind it."""

    passed: bool
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """A declared check: a failure is an ERROR (``warn_only``: a WARNing); ``blocking`` stops downstream assets."""

    function: Callable[..., CheckOutcome]
    description: str
    blocking: bool = False
    warn_only: bool = False

    def __post_init__(self) -> None:
        if self.blocking and self.warn_only:
            raise ValueError("a check that only warns cannot block downstream assets")

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.WARN if self.warn_only else AssetCheckSeverity.ERROR


def check_specs(asset_key: AssetKey, checks: Mapping[str, Check]) -> list[AssetCheckSpec]:
    """The ``check_specs`` an asset declares for ``checks``."""
    return [
        AssetCheckSpec(name, asset=asset_key, description=check.description, blocking=check.blocking)
        for name, check in checks.items()
    ]


def check_results(checks: Mapping[str, Check], **tables: Any) -> list[AssetCheckResult]:
    """Run every check on ``tables`` (each function takes the keyword arguments it needs) as Dagster results."""
    results = []
    for name, check in checks.items():
        outcome = check.function(**tables)
        results.append(
            AssetCheckResult(
                check_name=name,
                passed=bool(outcome.passed),
                severity=check.severity,
                description=outcome.description or None,
                metadata=outcome.metadata,
            )
        )
    return results


class BlockingCheckFailed(RuntimeError):
    """A blocking check failed on the rows an asset was about to write; nothing was written."""


def raise_on_blocking_failure(results: list[AssetCheckResult], checks: Mapping[str, Check], what: str) -> None:
    """Raise :class:`BlockingCheckFailed` naming every failed blocking check, before the warehouse write.

    Checks run on the in-memory tables, so a partition that fails a blocking check never reaches the
    published tables and nothing downstream starts from it.
    """
    failed = [
        f"{r.check_name} ({r.description or checks[r.check_name].description}; {dict(r.metadata)})"
        for r in results
        if not r.passed and checks[r.check_name].blocking
    ]
    if failed:
        raise BlockingCheckFailed(f"{what}: blocking checks failed, nothing written: " + "; ".join(failed))


# ---------------------------------------------------------------- checks every configuration asset runs
def no_overlaps(system: ModelSystem, configs: dict[int, Configuration], **_: object) -> CheckOutcome:
    ratios = {k: min_scaled_distance(c, system) for k, c in configs.items()}
    worst = min(ratios, key=ratios.get)
    return CheckOutcome(
        passed=ratios[worst] >= OVERLAP_RATIO,
        metadata={"min_r_over_sigma": ratios[worst], "worst_sample": worst, "threshold": OVERLAP_RATIO},
        description=f"closest pair at r/σ = {ratios[worst]:.3f} (sample {worst}); overlap below {OVERLAP_RATIO}",
    )


def lammps_energy_matches_numpy(
    system: ModelSystem, configs: dict[int, Configuration], samples: pl.DataFrame, **_: object
) -> CheckOutcome:
    lammps = dict(zip(samples["sample"].to_list(), samples["potential_energy"].to_list(), strict=True))
    errors = {k: abs(potential_energy(c, system).total - lammps[k]) / abs(lammps[k]) for k, c in configs.items()}
    worst = max(errors, key=errors.get)
    return CheckOutcome(
        passed=errors[worst] <= ENERGY_TOLERANCE,
        metadata={"max_relative_difference": errors[worst], "worst_sample": worst, "tolerance": ENERGY_TOLERANCE},
    )
