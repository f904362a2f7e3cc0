"""Tong–Tanaka Θ: zero for ideal packings, analytic angles, and a loop-based reference."""

import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from glass_core.structure.tong_tanaka import additive_radii, ideal_angles, measured_angles, tong_tanaka
from glass_core.structure.voronoi import voronoi_cells
from tests.helpers.configurations import triangular_lattice


def test_zero_on_triangular_lattice_of_touching_equal_discs():
    radius = 0.5
    config = triangular_lattice(8, 8, a=2 * radius, offset=0.05)
    theta = tong_tanaka(config, np.array([radius]))
    assert theta.shape == (64,)
    np.testing.assert_allclose(theta, 0.0, atol=1e-6)


def test_positive_on_perturbed_lattice():
    config = triangular_lattice(8, 8, a=1.0, offset=0.05)
    rng = np.random.default_rng(4)
    noisy = Configuration(config.positions + rng.normal(0, 0.08, config.positions.shape), config.types, config.box)
    theta = tong_tanaka(noisy.wrapped(), np.array([0.5]))
    assert np.all(theta > 0)
    assert 0.01 < theta.mean() < 0.5


def test_ideal_angles_analytic():
    assert ideal_angles(np.array(1.0), np.array(1.0), np.array(1.0)) == pytest.approx(np.pi / 3)
    # sides r_o + r_i = 3, r_o + r_j = 4, r_i + r_j = 5: a 3-4-5 right triangle
    assert ideal_angles(np.array(1.0), np.array(2.0), np.array(3.0)) == pytest.approx(np.pi / 2)


def test_single_impurity_in_lattice_has_the_law_of_cosines_value():
    config = triangular_lattice(8, 8, a=1.0, offset=0.05)
    config.types[27] = 1
    radii = np.array([0.5, 0.7])
    theta = tong_tanaka(config, radii)
    expected = abs(np.pi / 3 - 2 * np.arcsin(0.5 / 1.2))  # ideal angle at a big disc touching two small
    assert theta[27] == pytest.approx(expected, rel=1e-9)
    cells = voronoi_cells(config)
    neighbours = cells.neighbour[cells.centre == 27]
    assert np.all(theta[neighbours] > 0)
    others = np.setdiff1d(np.arange(64), np.append(neighbours, 27))
    np.testing.assert_allclose(theta[others], 0.0, atol=1e-6)


def test_measured_angles_go_once_around_every_particle():
    rng = np.random.default_rng(5)
    config = Configuration(rng.uniform(0, 9, (80, 2)), np.zeros(80, int), (9.0, 9.0))
    cells = voronoi_cells(config)
    bond_a, _, theta1 = measured_angles(cells)
    np.testing.assert_allclose(np.bincount(cells.centre[bond_a], theta1), 2 * np.pi, rtol=1e-12)
    assert np.all(theta1 < np.pi)  # consecutive Voronoi neighbours span less than a half turn


def reference_theta(config: Configuration, radii: np.ndarray) -> np.ndarray:
    """Particle-by-particle loop over neighbours sorted by angle (independent of the vectorised code)."""
    cells = voronoi_cells(config)
    r = radii[config.types]
    out = np.empty(config.n_particles)
    for o in range(config.n_particles):
        mine = np.flatnonzero(cells.centre == o)
        vectors = cells.vectors[mine]
        angle = np.arctan2(vectors[:, 1], vectors[:, 0])
        ring = mine[np.argsort(angle)]
        total = 0.0
        for k in range(len(ring)):
            i, j = ring[k], ring[(k + 1) % len(ring)]
            u, v = cells.vectors[i], cells.vectors[j]
            theta1 = np.arccos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))
            a, b = r[o] + r[cells.neighbour[i]], r[o] + r[cells.neighbour[j]]
            c = r[cells.neighbour[i]] + r[cells.neighbour[j]]
            theta2 = np.arccos((a * a + b * b - c * c) / (2 * a * b))
            total += abs(theta1 - theta2)
        out[o] = total / len(ring)
    return out


def test_matches_loop_reference_on_a_binary_mixture():
    rng = np.random.default_rng(6)
    config = triangular_lattice(8, 8, a=1.0, offset=0.05)
    jittered = Configuration(config.positions + rng.normal(0, 0.1, (64, 2)), rng.integers(0, 2, 64), config.box)
    jittered = jittered.wrapped()
    radii = additive_radii(get_system("abm"))
    np.testing.assert_allclose(tong_tanaka(jittered, radii), reference_theta(jittered, radii), rtol=1e-10)
    np.testing.assert_allclose(tong_tanaka(jittered, get_system("abm")), tong_tanaka(jittered, radii))


def test_kam_uses_additive_radii():
    radii = additive_radii(get_system("kam"))
    np.testing.assert_allclose(radii, [0.5, 0.44])
    assert radii.sum() == pytest.approx(0.94)
