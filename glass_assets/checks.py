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

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

__all__ = ["BlockingCheckFailed", "Check", "CheckOutcome", "check_results", "check_specs", "raise_on_blocking_failure"]


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
