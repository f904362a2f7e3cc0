import numpy as np
import pytest

from glass_core.models.pair_potentials import lj, lj_shifted_force, lj_smooth_c2


def derivative(f, r, h=1e-5):
    return (f(r + h) - f(r - h)) / (2 * h)


@pytest.mark.parametrize("eps, sigma", [(1.0, 1.0), (1.5, 0.8), (0.5, 0.88)])
def test_shifted_force_vanishes_with_its_force_at_cutoff(eps, sigma):
    rc = 2.5 * sigma
    v = lambda r: lj_shifted_force(np.asarray(r), eps, sigma)  # noqa: E731
    assert v(rc - 1e-12) == pytest.approx(0.0, abs=1e-10)
    assert abs(derivative(v, rc - 1e-6, 1e-7)) < 1e-5  # the force vanishes linearly at r_c
    assert v(rc + 0.1) == 0.0


@pytest.mark.parametrize("eps, sigma", [(1.0, 1.0), (1.5, 0.8), (0.75, 0.94)])
def test_smooth_c2_value_slope_and_curvature_vanish_at_cutoff(eps, sigma):
    rc = 2.5 * sigma
    v = lambda r: lj_smooth_c2(np.asarray(r), eps, sigma)  # noqa: E731
    assert v(rc - 1e-12) == pytest.approx(0.0, abs=1e-8)
    assert derivative(v, rc - 1e-3, 1e-5) == pytest.approx(0.0, abs=1e-6)

    def curvature(delta):
        return (v(rc - delta) - 2 * v(rc - 2 * delta) + v(rc - 3 * delta)) / delta**2

    # V'' vanishes linearly at r_c: ten times closer, ten times smaller
    assert abs(curvature(1e-4)) < 1e-3
    assert abs(curvature(1e-4)) < 0.2 * abs(curvature(1e-3))


def test_shifted_force_differs_from_lj_by_a_linear_function():
    r = np.linspace(0.9, 2.4, 50)
    diff = lj_shifted_force(r, 1.0, 1.0) - lj(r, 1.0, 1.0)
    assert np.allclose(np.diff(diff, 2), 0.0, atol=1e-12)


def test_lj_minimum_at_two_to_the_sixth():
    r = np.linspace(1.0, 1.3, 30001)
    assert r[np.argmin(lj(r, 1.0, 1.0))] == pytest.approx(2 ** (1 / 6), abs=1e-4)
