"""M (particles → image) and M⁻¹ (image → particles): conservation, smooth-field round trips, shifts."""

import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.structure.gridding import Gridding, density_image, interpolate_periodic
from tests.helpers.configurations import uniform_random_configuration


def smooth(x: np.ndarray, y: np.ndarray, box: tuple[float, float]) -> np.ndarray:
    """A smooth periodic test field."""
    return np.sin(2 * np.pi * x / box[0]) * np.cos(4 * np.pi * y / box[1]) + 0.5 * np.cos(2 * np.pi * y / box[1])


@pytest.mark.parametrize("kernel", ["gaussian", "cic"])
def test_each_particle_deposits_its_weight(kernel):
    config = uniform_random_configuration(300, (12.0, 9.0), seed=1)
    image = density_image(config, n_types=2, grid=32, kernel=kernel, dtype=np.float64)
    assert image.shape == (2, 32, 32)
    assert np.all(image >= 0)
    pixel_area = (12.0 / 32) * (9.0 / 32)
    np.testing.assert_allclose(image.sum(axis=(1, 2)) * pixel_area, np.bincount(config.types, minlength=2))
    weights = np.random.default_rng(2).uniform(0.5, 2.0, 300)
    weighted = density_image(config, 2, 32, kernel=kernel, weights=weights, dtype=np.float64)
    totals = np.bincount(config.types, weights, minlength=2)
    np.testing.assert_allclose(weighted.sum(axis=(1, 2)) * pixel_area, totals)


def test_interpolation_of_a_smooth_field_sampled_on_the_grid():
    box = (20.0, 16.0)
    grid = 64
    k = (np.arange(grid) + 0.5) * box[0] / grid
    l_ = (np.arange(grid) + 0.5) * box[1] / grid
    image = smooth(*np.meshgrid(k, l_, indexing="ij"), box)
    points = np.random.default_rng(3).uniform(0, 1, (500, 2)) * np.asarray(box)
    values = interpolate_periodic(image, points, box)
    exact = smooth(points[:, 0], points[:, 1], box)
    # bilinear error ≤ (Δ²/8) max|f''| ≈ 0.014 here
    assert np.max(np.abs(values - exact)) < 0.02
    # at the pixel centres the interpolation is exact
    centres = np.stack(np.meshgrid(k, l_, indexing="ij"), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(interpolate_periodic(image, centres, box), image.ravel(), atol=1e-12)


def test_inverse_of_map_reproduces_a_smooth_particle_field():
    """M⁻¹(M(w ρ)) / M⁻¹(M(ρ)) at the particles returns a smooth field w(r) carried by the particles."""
    box = (24.0, 24.0)
    n_side = 96
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    positions = (np.stack([i.ravel(), j.ravel()], axis=1) + 0.37) * box[0] / n_side
    config = Configuration(positions, np.zeros(n_side**2, int), box)
    field = smooth(positions[:, 0], positions[:, 1], box)
    gridding = Gridding(n_types=1, grid=64, width=0.4)
    carried = density_image(config, 1, 64, width=0.4, weights=field, dtype=np.float64)[0]
    density = density_image(config, 1, 64, width=0.4, dtype=np.float64)[0]
    recovered = gridding.at_particles(carried, config) / gridding.at_particles(density, config)
    # Gaussian smoothing plus bilinear interpolation: error ≈ ½ (width² + Δ²) |∇²f| (≈ 0.056 here)
    laplacian_max = (2 * np.pi / 24) ** 2 + (4 * np.pi / 24) ** 2 + 0.5 * (2 * np.pi / 24) ** 2
    bound = 0.5 * (0.4**2 + (24 / 64) ** 2) * laplacian_max
    assert np.max(np.abs(recovered - field)) < bound
    assert np.corrcoef(recovered, field)[0, 1] > 0.999


def test_cic_deposit_is_the_adjoint_of_interpolation():
    config = uniform_random_configuration(200, (10.0, 13.0), seed=4, n_types=1)
    weights = np.random.default_rng(5).normal(size=200)
    test_image = np.random.default_rng(6).normal(size=(24, 24))
    deposited = density_image(config, 1, 24, kernel="cic", weights=weights, dtype=np.float64)[0]
    pixel_area = (10.0 / 24) * (13.0 / 24)
    lhs = np.sum(deposited * test_image) * pixel_area
    rhs = np.dot(weights, interpolate_periodic(test_image, config.positions, config.box))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("kernel", ["gaussian", "cic"])
def test_translation_by_whole_pixels_rolls_the_image(kernel):
    config = uniform_random_configuration(150, (16.0, 16.0), seed=7)
    gridding = Gridding(n_types=2, grid=32, kernel=kernel)
    shift = np.array([3, -5])
    moved = Configuration(config.positions + shift * 0.5, config.types, config.box).wrapped()
    np.testing.assert_allclose(
        gridding.image(moved), np.roll(gridding.image(config), tuple(shift), axis=(1, 2)), atol=1e-5
    )


def test_gridding_stack_and_defaults():
    configs = [uniform_random_configuration(100, (10.0, 10.0), seed=s) for s in range(3)]
    gridding = Gridding(n_types=2, grid=16)
    stack = gridding.images(configs)
    assert stack.shape == (3, 2, 16, 16) and stack.dtype == np.float32
    np.testing.assert_array_equal(stack[1], gridding.image(configs[1]))
    abm = Configuration(configs[0].positions, configs[0].types, configs[0].box, system="abm")
    assert density_image(abm, grid=8).shape == (2, 8, 8)
    with pytest.raises(ValueError):
        density_image(abm, grid=8, width=0.0)
    with pytest.raises(ValueError):
        density_image(abm, grid=8, kernel="nearest")


@pytest.mark.parametrize("kernel", ["gaussian", "cic"])
def test_density_input_is_species_blind_and_per_type_is_not(kernel):
    """[O]'s input ρ(r) = Σ_i δ(r − r_i) does not see the species: swapping the types of the particles leaves
    the image unchanged, while the per-type channels change; the density is the sum of the per-type channels."""
    config = uniform_random_configuration(150, (11.0, 11.0), seed=9, n_types=2)
    swapped = Configuration(config.positions, 1 - config.types, config.box)  # every A becomes B and back
    rng = np.random.default_rng(3)
    shuffled = Configuration(config.positions, rng.permutation(config.types), config.box)  # same counts
    density = Gridding(n_types=2, grid=16, width=0.4, kernel=kernel, input_kind="density")
    per_type = Gridding(n_types=2, grid=16, width=0.4, kernel=kernel, input_kind="per_type")
    assert density.n_channels == 1 and per_type.n_channels == 2
    image = density.image(config)
    assert image.shape == (1, 16, 16)
    for other in (swapped, shuffled):
        np.testing.assert_array_equal(density.image(other), image)
        assert np.abs(per_type.image(other) - per_type.image(config)).max() > 0.1 * per_type.image(config).max()
    np.testing.assert_allclose(image[0], per_type.image(config).sum(axis=0), rtol=1e-5, atol=1e-6)
    pixel_area = (config.box[0] / 16) * (config.box[1] / 16)
    assert image.sum() * pixel_area == pytest.approx(config.n_particles, rel=1e-5)
    assert density.images([config, swapped]).shape == (2, 1, 16, 16)


def test_unknown_input_kind_is_refused():
    with pytest.raises(ValueError, match="unknown input kind 'species'"):
        Gridding(n_types=2, input_kind="species")


def test_a_gridding_at_a_larger_box_keeps_the_pixel_size():
    gridding = Gridding(2, grid=16, width=0.4, input_kind="density")
    assert gridding.at_box(8.0, 8.0) == gridding
    larger = gridding.at_box(8.0, 12.0)
    assert larger.grid == 24 and larger.width == 0.4 and larger.input_kind == "density"
    assert gridding.at_box(8.0, 0.1).grid == 1
