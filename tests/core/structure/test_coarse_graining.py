"""Exponential coarse graining: limits, invariances and a dense numpy reference."""

import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.structure.coarse_graining import CUTOFF_FACTOR, coarse_grain, minmax_normalise
from tests.helpers.configurations import uniform_random_configuration


def dense_reference(config: Configuration, values: np.ndarray, xi: float, r_cut: float) -> np.ndarray:
    delta = config.minimum_image(config.positions[None, :, :] - config.positions[:, None, :])
    r = np.hypot(delta[..., 0], delta[..., 1])
    w = np.exp(-r / xi) * (r < r_cut)
    return (w @ values) / w.sum(axis=1)[:, None]


def test_constant_field_stays_constant():
    config = uniform_random_configuration(400, (18.0, 18.0), seed=1, n_types=1)
    np.testing.assert_allclose(coarse_grain(config, np.full(400, 2.5), xi=3.0), 2.5, rtol=1e-13)


def test_xi_zero_returns_the_field_and_small_xi_tends_to_it():
    config = uniform_random_configuration(200, (20.0, 20.0), seed=2, n_types=1)
    field = np.random.default_rng(3).normal(size=200)
    np.testing.assert_array_equal(coarse_grain(config, field, xi=0.0), field)
    # nearest distances are ≳ 1e-2 here, so e^{-r/ξ} ≲ e^{-10} at ξ = 1e-3
    np.testing.assert_allclose(coarse_grain(config, field, xi=1e-3), field, atol=1e-3)
    with pytest.raises(ValueError):
        coarse_grain(config, field, xi=-1.0)


@pytest.mark.parametrize(
    ("box", "xi", "cutoff"),
    [
        ((12.0, 9.0), 3.0, None),  # cut beyond half the box: every particle once, at its minimum image
        ((30.0, 24.0), 1.0, None),  # cell list, 5 × 4 cells
        ((30.0, 8.0), 1.0, 3.0),  # cell list along x (10 cells), all pairs along y (2 cells)
    ],
)
def test_matches_dense_reference(box, xi, cutoff):
    config = uniform_random_configuration(300, box, seed=4, n_types=1)
    fields = np.random.default_rng(5).normal(size=(300, 3))
    r_cut = CUTOFF_FACTOR * xi if cutoff is None else cutoff
    result = coarse_grain(config, fields, xi=xi, cutoff=cutoff)
    np.testing.assert_allclose(result, dense_reference(config, fields, xi, r_cut), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(coarse_grain(config, fields[:, 1], xi=xi, cutoff=cutoff), result[:, 1], rtol=1e-13)


def test_invariant_under_periodic_translation():
    config = uniform_random_configuration(300, (16.0, 16.0), seed=6, n_types=1)
    field = np.random.default_rng(7).normal(size=300)
    shifted = Configuration(config.positions + np.array([5.3, -7.1]), config.types, config.box).wrapped()
    np.testing.assert_allclose(coarse_grain(shifted, field), coarse_grain(config, field), rtol=1e-11)


def test_smooths_towards_the_mean():
    config = uniform_random_configuration(500, (20.0, 20.0), seed=8, n_types=1)
    field = np.random.default_rng(9).normal(size=500)
    smooth = coarse_grain(config, field, xi=3.0)
    assert smooth.std() < 0.3 * field.std()
    assert smooth.mean() == pytest.approx(field.mean(), abs=0.05)


def test_minmax_normalise():
    x = np.array([3.0, -1.0, 1.0, 7.0])
    np.testing.assert_allclose(minmax_normalise(x), [0.5, 0.0, 0.25, 1.0])
    np.testing.assert_array_equal(minmax_normalise(np.full(5, 4.2)), np.zeros(5))
    table = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    np.testing.assert_allclose(minmax_normalise(table), [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]])
    with_nan = minmax_normalise(np.array([1.0, np.nan, 3.0]))
    assert np.isnan(with_nan[1]) and with_nan[0] == 0.0 and with_nan[2] == 1.0
