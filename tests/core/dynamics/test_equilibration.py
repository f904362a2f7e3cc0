import numpy as np
import pytest

from glass_core.dynamics.equilibration import compare_halves
from tests.helpers.series import ar1_fast


def ar1(rng, n, rho=0.9):
    x = np.empty(n)
    x[0] = rng.normal()
    for k in range(1, n):
        x[k] = rho * x[k - 1] + np.sqrt(1 - rho**2) * rng.normal()
    return x


def test_stationary_correlated_series_passes_most_of_the_time():
    rng = np.random.default_rng(0)
    passed = [compare_halves(ar1(rng, 4000)).agrees() for _ in range(50)]
    assert sum(passed) >= 45  # 3σ on a t-like statistic with 4 degrees of freedom per half


def test_drifting_series_fails():
    rng = np.random.default_rng(1)
    drift = ar1(rng, 4000) - np.linspace(0, 2.0, 4000)
    comparison = compare_halves(drift)
    assert not comparison.agrees()
    assert comparison.difference == pytest.approx(-1.0, abs=0.3)


def test_too_short_series_is_refused():
    with pytest.raises(ValueError, match="at least"):
        compare_halves(np.zeros(5))


def test_integrated_autocorrelation_time_and_effective_sample_size_of_ar1():
    from glass_core.dynamics.equilibration import effective_sample_size, integrated_autocorrelation_time

    rng = np.random.default_rng(3)
    for rho in (0.0, 0.5, 0.9):
        exact = (1 + rho) / (2 * (1 - rho))
        estimates = [integrated_autocorrelation_time(ar1_fast(rng, 20000, rho)) for _ in range(20)]
        assert np.mean(estimates) == pytest.approx(exact, rel=0.1)
    assert effective_sample_size(ar1_fast(rng, 20000, 0.0)) == pytest.approx(20000, rel=0.1)
