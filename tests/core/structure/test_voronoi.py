"""Voronoi areas Υ and neighbour lists: analytic lattice values and exact sum rules."""

import numpy as np
import pytest

from glass_core.structure.voronoi import voronoi_areas, voronoi_cells
from tests.helpers.configurations import triangular_lattice, uniform_random_configuration


def test_areas_sum_to_box_area():
    config = uniform_random_configuration(300, (14.0, 11.0), seed=1)
    areas = voronoi_areas(config)
    assert areas.shape == (300,)
    assert np.all(areas > 0)
    assert areas.sum() == pytest.approx(config.area, rel=1e-6)


@pytest.mark.parametrize("a", [1.0, 1.37])
def test_triangular_lattice_cells(a):
    config = triangular_lattice(8, 6, a)
    cells = voronoi_cells(config)
    np.testing.assert_allclose(cells.areas, np.sqrt(3) / 2 * a**2, rtol=1e-5)
    assert np.all(cells.n_neighbours == 6)
    np.testing.assert_allclose(cells.ridge_lengths, a / np.sqrt(3), rtol=1e-5)
    np.testing.assert_allclose(np.hypot(*cells.vectors.T), a, rtol=1e-12)


def test_neighbour_list_is_symmetric_with_minimum_image_vectors():
    config = uniform_random_configuration(200, (13.0, 13.0), seed=2)
    cells = voronoi_cells(config)
    assert np.all(np.diff(cells.centre) >= 0)
    forward = set(zip(cells.centre.tolist(), cells.neighbour.tolist(), strict=True))
    backward = set(zip(cells.neighbour.tolist(), cells.centre.tolist(), strict=True))
    assert forward == backward
    expected = config.minimum_image(config.positions[cells.neighbour] - config.positions[cells.centre])
    np.testing.assert_allclose(cells.vectors, expected, atol=1e-12)
    # Euler: a 2D periodic Voronoi tessellation of generic points has mean coordination exactly 6
    assert cells.n_neighbours.mean() == pytest.approx(6.0)


def test_min_ridge_drops_short_edges():
    config = uniform_random_configuration(200, (13.0, 13.0), seed=3)
    full = voronoi_cells(config)
    cut = np.quantile(full.ridge_lengths, 0.1)
    pruned = voronoi_cells(config, min_ridge=cut)
    assert len(pruned.centre) == np.sum(full.ridge_lengths > cut)
    assert np.all(pruned.ridge_lengths > cut)
    np.testing.assert_array_equal(pruned.areas, full.areas)
