import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from glass_core.structure.ensemble_quality import cooling_curve_jump, coordinates_inside_box, min_scaled_distance
from tests.helpers.configurations import gaussian_jittered_lattice


def smooth_curve(rng, n=400):
    t = np.linspace(4.0, 0.05, n)
    return t, -2.0 + 0.9 * t + 0.05 * t**2 + rng.normal(0, 0.04, n)


def test_smooth_cooling_curves_have_no_jump():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t, e = smooth_curve(rng)
        assert not cooling_curve_jump(t, e).is_jump()


def test_latent_heat_drop_is_found_at_its_temperature():
    t, e = smooth_curve(np.random.default_rng(1))
    e = e - 0.3 * (t < 0.8)
    jump = cooling_curve_jump(t, e)
    assert jump.is_jump()
    assert jump.temperature == pytest.approx(0.8, abs=0.25)
    assert jump.size == pytest.approx(0.3, rel=0.35)


def test_min_scaled_distance_finds_the_overlap():
    system = get_system("kam")
    config = gaussian_jittered_lattice(system, 8, np.random.default_rng(2), jitter=0.0)
    assert min_scaled_distance(config, system) > 0.9
    positions = config.positions.copy()
    positions[1] = positions[0] + np.array([0.3, 0.0])
    squeezed = Configuration(positions, config.types, config.box, "kam")
    sigma = system.sigma[config.types[0], config.types[1]]
    assert min_scaled_distance(squeezed, system) == pytest.approx(0.3 / sigma, rel=1e-6)


def test_coordinates_inside_box():
    config = gaussian_jittered_lattice(get_system("abm"), 4, np.random.default_rng(3))
    assert coordinates_inside_box(config)
    bad = Configuration(config.positions.copy(), config.types, config.box)
    bad.positions[2, 0] = np.nan
    assert not coordinates_inside_box(bad)
    bad.positions[2, 0] = config.box[0] + 0.1
    assert not coordinates_inside_box(bad)
