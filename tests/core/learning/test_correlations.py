"""Pearson and Spearman per configuration on crafted data with known coefficients."""

import numpy as np
import pytest

from glass_core.learning.correlations import (
    correlation,
    correlation_against_dynamics,
    correlations_per_configuration,
    pair_correlations,
    pearson,
    spearman,
    summarise_correlations,
)
from glass_core.structure.indicators import normalised_coarse_grained
from tests.helpers.configurations import uniform_random_configuration


def pair_with_pearson(rho: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y with sample Pearson exactly ρ: y = ρ x̂ + √(1−ρ²) ẑ, x̂ ⟂ ẑ centred unit vectors."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x_hat = (x - x.mean()) / np.linalg.norm(x - x.mean())
    z = rng.normal(size=n)
    z -= z.mean()
    z -= np.dot(z, x_hat) * x_hat
    z_hat = z / np.linalg.norm(z)
    return x, rho * x_hat + np.sqrt(1 - rho**2) * z_hat


def test_linear_relations():
    x = np.random.default_rng(0).normal(size=500)
    assert pearson(x, 2 * x + 1) == pytest.approx(1.0, abs=1e-12)
    assert pearson(x, -x) == pytest.approx(-1.0, abs=1e-12)
    assert spearman(x, 2 * x + 1) == pytest.approx(1.0, abs=1e-12)
    assert spearman(x, -x) == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.parametrize("rho", [0.552, -0.3, 0.0])
def test_constructed_pair_has_exact_pearson(rho):
    x, y = pair_with_pearson(rho, 2000, seed=1)
    assert pearson(x, y) == pytest.approx(rho, abs=1e-12)
    assert correlation(x, y, "pearson") == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)


def test_spearman_is_rank_based():
    x = np.random.default_rng(2).uniform(0.1, 3.0, 300)
    assert spearman(x, np.exp(5 * x)) == pytest.approx(1.0)  # monotone, nonlinear
    assert pearson(x, np.exp(5 * x)) < 0.9
    # no ties: ρ_s = 1 − 6 Σ d² / (n (n² − 1)) for ranks differing by d
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = np.array([2.0, 1.0, 4.0, 3.0, 5.0])
    assert spearman(a, b) == pytest.approx(1 - 6 * 4 / (5 * 24))
    # ties take the average rank: ranks of b are (1.5, 1.5, 3) → Pearson of (1, 2, 3) with them
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([7.0, 7.0, 9.0])) == pytest.approx(np.sqrt(3) / 2)


def test_constant_field_has_no_correlation_and_bad_input_is_refused():
    assert np.isnan(pearson(np.ones(10), np.arange(10.0)))
    assert np.isnan(spearman(np.arange(10.0), np.full(10, 3.0)))
    with pytest.raises(ValueError):
        pearson(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        correlation(np.ones(3), np.ones(3), "kendall")


def test_per_configuration_and_summary():
    rhos = [0.5, 0.6, 0.7]
    pairs = [pair_with_pearson(r, 400, seed=s) for s, r in enumerate(rhos)]
    xs, ys = zip(*pairs, strict=True)
    values = correlations_per_configuration(list(xs) + [np.ones(400)], list(ys) + [np.arange(400.0)])
    np.testing.assert_allclose(values[:3], rhos, atol=1e-12)
    assert np.isnan(values[3])
    summary = summarise_correlations(values)
    assert summary.n == 3 and summary.n_undefined == 1
    assert summary.mean == pytest.approx(0.6)
    assert summary.std == pytest.approx(0.1)  # sample standard deviation (ddof = 1)
    assert summary.stderr == pytest.approx(0.1 / np.sqrt(3))
    single = summarise_correlations([0.4])
    assert single.mean == 0.4 and single.std is None and single.stderr is None and single.n == 1


def test_pair_correlations_name_each_pair_and_method():
    x = np.arange(10.0)
    fields = {"a": x, "b": 2 * x + 1, "c": -(x**3)}
    values = pair_correlations(fields, {"a~b": ("a", "b"), "a~c": ("a", "c")})
    assert set(values) == {("a~b", "pearson"), ("a~b", "spearman"), ("a~c", "pearson"), ("a~c", "spearman")}
    assert values[("a~b", "pearson")] == pytest.approx(1.0)
    assert values[("a~c", "spearman")] == pytest.approx(-1.0)  # monotone decreasing, not linear
    assert -1.0 < values[("a~c", "pearson")] < -0.9


def test_fig4_curve_is_one_when_mobility_mirrors_gamma_and_nan_at_rest():
    """Δ(t) = a_t (10 − u) gives, after the linear coarse graining and min–max, 1 − Δ̄ = Γ̄ exactly."""
    config = uniform_random_configuration(150, (12.0, 12.0), seed=5)
    u = np.random.default_rng(6).uniform(size=150)
    gamma = normalised_coarse_grained(config, u, 3.0)
    crsd = np.stack([np.zeros(150), 0.1 * (10.0 - u), 3.0 * (10.0 - u), 2.0 * u])
    curve = correlation_against_dynamics(config, gamma, crsd, 3.0)
    assert np.isnan(curve[0])  # t = 0: nobody has moved, no correlation defined
    assert curve[1:3] == pytest.approx([1.0, 1.0])
    assert curve[3] == pytest.approx(-1.0)  # mobility where Γ is high
    with pytest.raises(ValueError, match="frames"):
        correlation_against_dynamics(config, gamma, crsd[:, :10], 3.0)
