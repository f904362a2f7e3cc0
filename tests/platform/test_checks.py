"""The shared check declarations: severity, blocking and results as Dagster reports them."""

import pytest
from dagster import AssetCheckSeverity, AssetKey

from glass_assets.checks import Check, CheckOutcome, check_results, check_specs


def _positive(value: float, **_: object) -> CheckOutcome:
    return CheckOutcome(passed=value > 0, metadata={"value": value}, description="" if value > 0 else "not positive")


CHECKS = {
    "hard": Check(_positive, "must hold", blocking=True),
    "plain": Check(_positive, "should hold"),
    "soft": Check(_positive, "worth a look", warn_only=True),
}


def test_specs_declare_blocking_only_where_asked():
    specs = {spec.name: spec for spec in check_specs(AssetKey("a"), CHECKS)}
    assert [specs[n].blocking for n in ("hard", "plain", "soft")] == [True, False, False]
    assert specs["soft"].description == "worth a look"


def test_results_carry_outcome_and_severity():
    results = {r.check_name: r for r in check_results(CHECKS, value=-1.0, unused="ignored")}
    assert not any(r.passed for r in results.values())
    assert results["hard"].severity == AssetCheckSeverity.ERROR
    assert results["soft"].severity == AssetCheckSeverity.WARN
    # a failed result says whether it fails or only warns (Dagster labels both "Failed")
    assert results["plain"].description == "failed: not positive" and results["plain"].metadata["value"].value == -1.0
    assert results["soft"].description.startswith("warning: ")
    assert all(r.passed for r in check_results(CHECKS, value=2.0))


def test_a_warning_cannot_block():
    with pytest.raises(ValueError, match="cannot block"):
        Check(_positive, "contradiction", blocking=True, warn_only=True)
