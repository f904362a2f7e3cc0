"""Mean ± standard error on crafted data, the 2-SE verdict, and [O]'s glass conditions judged with it."""

import math

import numpy as np
import pytest

from glass_core.learning.correlations import OYAMA_GLASS_CONDITIONS, curve_maximum, evaluate_conditions
from glass_core.models.statistics import (
    Accuracy,
    Estimate,
    SampleMean,
    absolute_difference,
    binomial_stderr,
    difference,
    judge,
    minimum_resolving_size,
    sample_mean,
    wilson_interval,
)


def test_standard_error_of_a_crafted_sample():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − x̄)² = 32, s = √(32/7), SE = s/√8
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    mean = sample_mean(values)
    assert mean.mean == 5.0 and mean.n == 8 and mean.n_undefined == 0
    assert mean.std == pytest.approx(math.sqrt(32 / 7), rel=1e-12)
    assert mean.stderr == pytest.approx(math.sqrt(32 / 7) / math.sqrt(8), rel=1e-12)
    assert mean.stderr == pytest.approx(np.std(values, ddof=1) / np.sqrt(len(values)))


def test_undefined_values_are_left_out_and_counted():
    mean = sample_mean([0.1, float("nan"), 0.3, None])
    assert mean.n == 2 and mean.n_undefined == 2
    assert mean.mean == pytest.approx(0.2)
    assert mean.stderr == pytest.approx(0.1)  # s = 0.1·√2, SE = s/√2


def test_one_value_has_no_standard_error_and_none_has_no_mean():
    single = sample_mean([0.4])
    assert single == SampleMean(0.4, None, 1, None, 0)
    assert single.text() == "0.4 (n = 1, no SE)"
    empty = sample_mean([float("nan")])
    assert math.isnan(empty.mean) and empty.n == 0 and empty.stderr is None and empty.n_undefined == 1
    assert sample_mean([1.0, 3.0]).text() == "2 ± 1 (n = 2)"


def test_differences_combine_errors_as_independent():
    a, b = SampleMean(0.5, 0.03, 10), SampleMean(-0.2, 0.04, 20)
    assert difference(a, b) == Estimate(pytest.approx(0.7), pytest.approx(0.05))
    assert absolute_difference(a, b) == Estimate(pytest.approx(0.3), pytest.approx(0.05))
    assert difference(a, SampleMean(0.1, None, 1)).stderr is None


@pytest.mark.parametrize(
    ("value", "stderr", "verdict"),
    [
        (0.21, 0.1, "pass"),
        (0.19, 0.1, "unresolved"),
        (-0.19, 0.1, "unresolved"),
        (-0.21, 0.1, "fail"),
        (0.5, None, "unresolved"),
        (float("nan"), 0.1, "no data"),
    ],
)
def test_verdict_needs_two_standard_errors(value, stderr, verdict):
    assert judge(Estimate(value, stderr)) == verdict


def test_kam_conditions_pass_fail_and_unresolved():
    conditions = OYAMA_GLASS_CONDITIONS["kam"]
    assert len(conditions) == 4
    # the demo's KAM numbers of issue 14: |C(Γ,Θ)| = 0.52 against |C(Θ,Υ)| = 0.14 violates the last one
    means = {
        "gamma~upsilon": SampleMean(-0.60, 0.03, 12),
        "gamma~one_minus_theta": SampleMean(-0.52, 0.03, 12),
        "one_minus_theta~upsilon": SampleMean(0.14, 0.05, 40),
    }
    verdicts = {r.condition.text: r.verdict for r in evaluate_conditions(conditions, means)}
    assert verdicts == {
        "C(Γ,Υ) < 0": "pass",
        "C(Γ,1−Θ) < 0": "pass",
        "|C(Γ,Υ)| > |C(Γ,Θ)|": "unresolved",  # 0.08 < 2 × √(0.03² + 0.03²) ≈ 0.085
        "|C(Γ,Θ)| < |C(Θ,Υ)|": "fail",  # 0.14 − 0.52 = −0.38, SE ≈ 0.058
    }
    result = evaluate_conditions(conditions, means)[3]
    assert result.difference == pytest.approx(-0.38) and result.stderr == pytest.approx(math.hypot(0.03, 0.05))


def test_a_condition_without_its_coefficients_has_no_data():
    results = evaluate_conditions(OYAMA_GLASS_CONDITIONS["abm"], {"gamma~upsilon": SampleMean(0.3, 0.1, 5)})
    assert [r.verdict for r in results] == ["pass", "no data", "no data"]


def test_curve_maximum_skips_undefined_frames():
    assert curve_maximum(np.array([np.nan, 0.2, 0.5, 0.4])) == 2
    assert curve_maximum(np.array([np.nan, np.nan])) is None


def test_quantities_over_networks_give_mean_and_spread_and_zero_spread_for_identical_members():
    from glass_core.models.statistics import over_networks

    same = over_networks([0.3, 0.3, 0.3], [0.01, 0.02, 0.03])
    assert same.mean == pytest.approx(0.3) and same.spread == 0.0 and same.stderr == pytest.approx(0.02)
    varied = over_networks([1.0, 2.0, float("nan"), 3.0])
    assert varied.n_networks == 3 and varied.spread == pytest.approx(1.0) and np.isnan(varied.stderr)
    assert over_networks([4.0]).spread == 0.0 and over_networks([]).n_networks == 0


# ------------------------------------------------------------------------------------------ accuracies
def test_binomial_standard_error_of_a_known_accuracy():
    # 5 of 8: p = 0.625, SE = √(0.625 · 0.375 / 8) = 0.1711…; 19 of 24: √(19·5/24³)
    assert binomial_stderr(5, 8) == pytest.approx(math.sqrt(0.625 * 0.375 / 8), rel=1e-12)
    assert binomial_stderr(5, 8) == pytest.approx(0.17116, abs=1e-5)
    assert binomial_stderr(19, 24) == pytest.approx(math.sqrt(19 * 5 / 24**3), rel=1e-12)
    assert binomial_stderr(8, 8) == 0.0 and binomial_stderr(0, 0) is None
    accuracy = Accuracy(5, 8)
    assert accuracy.value == 0.625 and accuracy.stderr == pytest.approx(0.17116, abs=1e-5)
    assert accuracy.text() == "0.625 ± 0.17 (n = 8; Wilson 0.30–0.87)"
    with pytest.raises(ValueError, match="0 ≤ correct ≤ n"):
        Accuracy(9, 8)


def test_wilson_interval_against_its_formula_and_its_limits():
    # 5 of 8 at z = 2: centre (p + z²/2n)/(1 + z²/n) = 0.875/1.5, half = 2√(p(1−p)/8 + 4/256)/1.5
    centre, half = (0.625 + 0.25) / 1.5, 2 * math.sqrt(0.625 * 0.375 / 8 + 4 / 256) / 1.5
    assert wilson_interval(5, 8) == pytest.approx((centre - half, centre + half), rel=1e-12)
    assert wilson_interval(5, 8, z=1.96)[0] > wilson_interval(5, 8)[0]  # fewer SE: narrower
    low, high = wilson_interval(8, 8)  # a perfect score: lower end n/(n + z²), upper end 1
    assert low == pytest.approx(8 / 12) and high == 1.0
    assert wilson_interval(0, 8)[0] == 0.0 and wilson_interval(0, 8)[1] == pytest.approx(4 / 12)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_the_smallest_set_that_can_resolve_a_threshold():
    # a perfect score on n images has Wilson lower end n/(n + 4) at z = 2: ≥ a needs n ≥ 4a/(1 − a)
    assert minimum_resolving_size(0.95) == 76
    assert minimum_resolving_size(0.9) == 36
    assert Accuracy(76, 76).resolved_above(0.95) and not Accuracy(75, 75).resolved_above(0.95)
    assert not Accuracy(75, 76).resolved_above(0.95)  # one error on the smallest set already fails
    with pytest.raises(ValueError, match="no finite number of images"):
        minimum_resolving_size(1.0)
