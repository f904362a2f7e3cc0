"""Voronoi areas Υ and neighbour lists: analytic lattice values and exact sum rules."""

import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.structure.voronoi import voronoi_areas, voronoi_cells


def triangular_lattice(nx: int, ny: int, a: float, offset: float = 0.1) -> Configuration:
    """nx × ny perfect triangular lattice of spacing a in a commensurate periodic box (ny even)."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    x = (i + 0.5 * (j % 2)) * a
    y = j * a * np.sqrt(3) / 2
    positions = np.stack([x.ravel(), y.ravel()], axis=1) + offset
    return Configuration(positions, np.zeros(nx * ny, int), (nx * a, ny * a * np.sqrt(3) / 2))


def random_configuration(n: int, box: tuple[float, float], seed: int) -> Configuration:
    rng = np.random.default_rng(seed)
    return Configuration(rng.uniform(0, 1, (n, 2)) * np.asarray(box), rng.integers(0, 2, n), box)


def test_areas_sum_to_box_area():
    config = random_configuration(300, (14.0, 11.0), seed=1)
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
    config = random_configuration(200, (13.0, 13.0), seed=2)
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
    config = random_configuration(200, (13.0, 13.0), seed=3)
    full = voronoi_cells(config)
    cut = np.quantile(full.ridge_lengths, 0.1)
    pruned = voronoi_cells(config, min_ridge=cut)
    assert len(pruned.centre) == np.sum(full.ridge_lengths > cut)
    assert np.all(pruned.ridge_lengths > cut)
    np.testing.assert_array_equal(pruned.areas, full.areas)
