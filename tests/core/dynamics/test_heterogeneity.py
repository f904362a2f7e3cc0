"""Dynamic heterogeneity: χ4, S4(q) and ξ4, chord and attention lengths, tiling and overlap.

Every expected value is independent of the code under test: an analytic variance, a brute-force sum,
a synthetic Ornstein–Zernike field of known ξ, crafted lattices whose chords are counted by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.dynamics.four_point_structure_factor import (
    BoxTooSmallError,
    fit_ornstein_zernike,
    four_point_structure_factor,
    ornstein_zernike,
)
from glass_core.dynamics.four_point_susceptibility import TooFewConfigurationsError, four_point_susceptibility
from glass_core.dynamics.length_scales import (
    attention_length,
    chord_length,
    chords,
    mean_chord_length,
    random_field_chord_length,
)
from glass_core.dynamics.overlap import overlap
from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.models.tiling import spatially_ordered, tile_configuration
from glass_core.simulation.swap_monte_carlo import sample_equilibria


# --------------------------------------------------------------------------------------------- χ4
def test_chi4_of_independent_fields_is_the_single_particle_variance():
    rng = np.random.default_rng(0)
    fields = rng.uniform(0.0, 1.0, (400, 300))  # independent particles: χ4 = Var(X) = 1/12, χ4_norm = 1
    chi4 = four_point_susceptibility(fields, seed=1)
    assert chi4.value == pytest.approx(np.var(fields.sum(axis=1)) / 300, rel=1e-12)  # (⟨Q²⟩ − ⟨Q⟩²)/N
    assert abs(chi4.value - 1 / 12) < 3 * chi4.stderr
    assert abs(chi4.normalised - 1.0) < 3 * chi4.normalised_stderr
    assert 0.0 < chi4.stderr < 0.1 / 12
    assert (chi4.n_configurations, chi4.n_particles) == (400, 300.0)

    fields[:, :50] = np.nan  # unlabelled particles are skipped: the same physics on 250 particles
    skipped = four_point_susceptibility(fields, seed=1)
    assert skipped.n_particles == 250.0
    assert skipped.value == pytest.approx(np.var(np.nansum(fields, axis=1)) / 250, rel=1e-12)
    assert abs(skipped.value - 1 / 12) < 3 * skipped.stderr


def test_chi4_needs_two_labelled_configurations():
    with pytest.raises(TooFewConfigurationsError, match="at least 2"):
        four_point_susceptibility(np.ones((1, 10)))
    two = np.ones((2, 10))
    two[1] = np.nan
    with pytest.raises(TooFewConfigurationsError):
        four_point_susceptibility(two)


# --------------------------------------------------------------------------------------------- S4, ξ4
def _lattice_positions(n: int) -> np.ndarray:
    return np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) + 0.5


def _ornstein_zernike_fields(n: int, xi: float, n_conf: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian random fields on an n × n unit grid with spectrum 1/(1 + (qξ)²) (white noise filtered by FFT)."""
    q = 2 * np.pi * np.fft.fftfreq(n)
    amplitude = 1 / np.sqrt(1 + (np.hypot(*np.meshgrid(q, q, indexing="ij")) * xi) ** 2)
    noise = np.fft.fft2(rng.normal(size=(n_conf, n, n)), axes=(1, 2))
    return np.fft.ifft2(noise * amplitude, axes=(1, 2)).real.reshape(n_conf, -1)


def test_s4_fast_path_equals_direct_sum_and_white_noise_is_flat():
    rng = np.random.default_rng(2)
    box = (31.0, 27.5)
    positions = rng.uniform(0, 1, (3, 1500, 2)) * box
    fields = rng.uniform(0, 1, (3, 1500))
    fields[1, ::7] = np.nan
    fast = four_point_structure_factor(positions + [[[-62.0, 55.0]]], fields, box, method="fast")  # unwrapped
    direct = four_point_structure_factor(positions, fields, box, method="direct")
    assert np.max(np.abs(fast.per_configuration / direct.per_configuration - 1)) < 1e-8
    assert fast.q.max() <= 2.0 and fast.n_vectors.sum() > 100
    # uncorrelated field: S4(q) = Var(X) = 1/12 at every q; each |F(q)|²/N is exponentially distributed
    samples = fast.n_vectors.sum() * 3
    pooled = np.sum(fast.s4 * fast.n_vectors) / fast.n_vectors.sum()
    assert abs(pooled - 1 / 12) < 4 / np.sqrt(samples) / 12


def test_ornstein_zernike_fit_recovers_the_correlation_length():
    n, xi = 64, 2.0
    fields = _ornstein_zernike_fields(n, xi, 20, np.random.default_rng(0))
    result = four_point_structure_factor(_lattice_positions(n), fields, (n, n))
    fit = fit_ornstein_zernike(result)
    assert fit.resolved, fit.reason
    assert fit.xi == pytest.approx(xi, rel=0.10)
    assert abs(fit.xi - xi) < 4 * fit.xi_stderr
    assert fit.n_shells_below_inverse_xi >= 3
    cubic = fit_ornstein_zernike(result, model="oz_cubic")  # [J] App. C form: A ≈ 0 for a pure OZ field
    assert np.isfinite(cubic.cubic) and abs(cubic.cubic) < 3 * cubic.cubic_stderr + 0.1


def test_the_ornstein_zernike_curve_is_the_fitted_form():
    q = np.array([0.0, 0.5, 1.0])
    assert ornstein_zernike(q, 4.0, 2.0) == pytest.approx([4.0, 2.0, 0.8])  # S4(0) / (1 + (qξ)²)
    assert ornstein_zernike(q, 4.0, 2.0, cubic=1.0) == pytest.approx([4.0, 4.0 / 3.0, 4.0 / 13.0])  # + A (qξ)³


def test_unresolved_plateau_is_reported_not_nan():
    n = 64
    fields = _ornstein_zernike_fields(n, 25.0, 10, np.random.default_rng(1))  # ξ ≫ L/(2π × 3 shells)
    fit = fit_ornstein_zernike(four_point_structure_factor(_lattice_positions(n), fields, (n, n)))
    assert not fit.resolved
    assert "plateau" in fit.reason or "box side" in fit.reason
    few = fit_ornstein_zernike(four_point_structure_factor(_lattice_positions(n), fields, (n, n), q_max=0.3))
    assert not few.resolved and "shells" in few.reason


def test_box_too_small_for_q_range_raises():
    positions = np.random.default_rng(3).uniform(0, 2.0, (20, 2))
    with pytest.raises(BoxTooSmallError, match="no wave vector"):
        four_point_structure_factor(positions, np.ones(20), (2.0, 2.0), q_max=2.0)


# --------------------------------------------------------------------------------------------- chords
def test_chords_of_crafted_lattices():
    stripes = np.zeros((8, 8), bool)
    stripes[0:2, :] = True  # two full columns (x = 0, 1): rows give 8 chords of 2, columns 2 chords of 8
    assert sorted(chords(stripes)) == [2.0] * 8 + [8.0] * 2
    checkerboard = (np.add.outer(np.arange(8), np.arange(8)) % 2).astype(bool)
    assert np.all(chords(checkerboard) == 1.0) and chords(checkerboard).size == 64
    block = np.zeros((8, 8), bool)
    block[np.ix_([7, 0, 1], [7, 0])] = True  # a 3 × 2 block wrapped around the corner
    assert sorted(chords(block, cell=(0.5, 2.0))) == [1.5, 1.5, 4.0, 4.0, 4.0]
    assert np.all(chords(np.ones((5, 4), bool)) == np.repeat([5.0, 4.0], [4, 5]))  # full rows: length L
    assert chords(np.zeros((4, 4), bool)).size == 0


@pytest.mark.parametrize("site_rule", ["mean_propensity", "active_fraction"])
def test_chord_length_of_particles_on_a_crafted_pattern(site_rule):
    n, cell = 8, 2.0
    positions = (_lattice_positions(n) * cell).astype(float)  # one particle per site, cell 2σ
    site = _lattice_positions(n).astype(int)
    stripes = np.where(site[:, 0] < 3, 0.1, 0.9)  # x ∈ {0,1,2} mobile (small C_B)
    result = chord_length(positions, stripes, (n * cell, n * cell), cell_size=cell, site_rule=site_rule)
    # rows: 8 chords of 3 sites; columns: 3 chords of 8 sites; × 2σ
    assert result.mean_length == pytest.approx((8 * 3 + 3 * 8) * cell / 11)
    assert result.n_chords == 11 and result.active_fraction == pytest.approx(3 / 8)
    hole = np.all(site == [1, 4], axis=1)  # an empty site inside the mobile stripe takes its neighbours' value
    filled = chord_length(positions[~hole], stripes[~hole], (16.0, 16.0), cell_size=cell, site_rule=site_rule)
    assert filled.mean_length == result.mean_length
    above = chord_length(positions, 1 - stripes, (16.0, 16.0), cell_size=cell, mobile="above", site_rule=site_rule)
    assert above.mean_length == result.mean_length

    checker = np.where(site.sum(axis=1) % 2 == 0, 0.2, 0.7)
    two = mean_chord_length(np.stack([positions, positions]), np.stack([stripes, checker]), (16.0, 16.0), cell)
    assert two.per_configuration == pytest.approx([96 / 11, cell])
    assert two.mean == pytest.approx((96 / 11 + cell) / 2)
    assert two.stderr == pytest.approx(abs(96 / 11 - cell) / 2)


# --------------------------------------------------------------------------------------------- attention
def test_attention_length_distribution_and_mean():
    lengths = np.array([0.0, 2.0, 2.0, 5.0])
    weights = np.array([[0.1, 0.2, 0.2, 0.5], [0.0, 0.0, 0.0, 1.0]])
    att = attention_length(weights, lengths)  # [J]: average per L: (0.1, 0.2, 0.5) → P = (1/8, 1/4, 5/8)
    assert att.lengths.tolist() == [0.0, 2.0, 5.0]
    assert att.per_member[0] == pytest.approx([0.125, 0.25, 0.625])
    assert att.per_member.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert att.per_member_mean_length == pytest.approx([3.625, 5.0])
    assert att.mean_length == pytest.approx(4.3125)
    assert att.mean_length_spread == pytest.approx(np.std([3.625, 5.0], ddof=1))
    summed = attention_length(weights[0], lengths, aggregate="sum")  # P = (0.1, 0.4, 0.5)
    assert summed.distribution == pytest.approx([0.1, 0.4, 0.5]) and summed.mean_length == pytest.approx(3.3)
    with pytest.raises(ValueError, match="non-negative"):
        attention_length(-weights, lengths)


# --------------------------------------------------------------------------------------------- tiling
def _pair_distances(config: Configuration, cutoff: float) -> list[np.ndarray]:
    delta = config.minimum_image(config.positions[:, None, :] - config.positions[None, :, :])
    r = np.hypot(delta[..., 0], delta[..., 1])
    return [np.sort(row[(row > 0) & (row < cutoff)]) for row in r]


def test_tiling_preserves_density_composition_and_pair_distances():
    system = get_system("ka2d_ternary")
    small = random_configuration(system, 60, np.random.default_rng(4))
    tiled = tile_configuration(small, 3)
    assert tiled.n_particles == 540 and tiled.box == pytest.approx((3 * small.box[0], 3 * small.box[1]))
    assert tiled.n_particles / tiled.area == pytest.approx(small.n_particles / small.area)
    assert np.bincount(tiled.types).tolist() == (9 * np.bincount(small.types)).tolist()
    cutoff = 0.45 * small.box[0]  # below L/2 of the small box: every image pair is counted once
    original = _pair_distances(small, cutoff)
    for m, row in enumerate(_pair_distances(tiled, cutoff)):  # includes pairs across tile boundaries
        assert row == pytest.approx(original[m % 60], abs=1e-9)
    ordered, order = spatially_ordered(tiled)
    assert np.array_equal(ordered.positions, tiled.positions[order])
    assert sorted(order.tolist()) == list(range(540))


def test_overlap_counts_particles_within_the_cutoff_with_minimum_image():
    config = random_configuration(get_system("ka2d_ternary"), 50, np.random.default_rng(5))
    assert overlap(config, config) == 1.0
    shifted = Configuration(config.positions + [0.2, 0.0], config.types, config.box).wrapped()
    assert overlap(config, shifted) == 1.0  # 0.2 < 0.3 also for particles that crossed the edge
    moved = config.positions.copy()
    moved[:20] += [0.0, 0.5]
    assert overlap(config, Configuration(moved, config.types, config.box).wrapped()) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="size"):
        overlap(config, tile_configuration(config, 2))


@pytest.mark.parametrize("site_rule", ["mean_propensity", "active_fraction"])
def test_a_random_field_gives_the_geometric_chord_length_of_independent_sites(site_rule):
    """One particle per site and a median threshold: each site active with p = 1/2, runs geometric, ℓ_ch → 2 cells.
    On a periodic row of n sites the mean run is 2 − O(n 2⁻ⁿ) (the all-active row counts once): 2.00 at n = 40."""
    n = 40
    positions = _lattice_positions(n).astype(float)  # cell 1 σ
    result = random_field_chord_length(positions, np.ones((4, n * n), bool), (n, n), 1.0, site_rule=site_rule,
                                       n_draws=10, seed=1)
    assert result.mean == pytest.approx(2.0, abs=3 * result.stderr + 0.01)
    assert result.stderr < 0.02 and result.per_configuration.size == 40


def test_a_field_that_follows_the_species_of_an_ordered_mixture_is_shorter_than_random():
    """A checkerboard of two species whose field is the per-species mean: every site alternates, chords of 1 cell,
    far below the random field's 2 cells; the same particles with a smooth field lie above it."""
    n = 16
    positions = _lattice_positions(n).astype(float)
    species = _lattice_positions(n).sum(axis=1) % 2
    per_species_mean = np.where(species == 0, 0.3, 0.8)
    random = random_field_chord_length(positions, np.ones((1, n * n), bool), (n, n), 1.0, n_draws=20, seed=2)
    ordered = mean_chord_length(positions, per_species_mean[None], (n, n), 1.0)
    smooth = mean_chord_length(positions, np.cos(2 * np.pi * positions[:, 0] / n)[None], (n, n), 1.0)
    assert ordered.mean == pytest.approx(1.0)
    assert ordered.mean < random.mean - 5 * random.stderr < random.mean + 5 * random.stderr < smooth.mean


@pytest.mark.slow
def test_the_per_species_mean_field_of_a_ternary_equilibrium_is_shorter_than_a_random_field():
    """Swap-MC equilibria of ka2d_ternary (N = 256, T = 0.5; chemically ordered: A–B contacts favoured): a field
    equal to each particle's per-species mean (B and C more mobile, ties broken by 1e-6 noise) alternates with the
    species, so its ℓ_ch lies below that of a random field on the same particles; type A alone has the longer
    random-field reference of a sparser lattice."""
    system = get_system("ka2d_ternary")
    result = sample_equilibria(system, 256, temperature=0.5, n_samples=4, equilibration_sweeps=2000,
                               sweeps_between_samples=500, seed=3)
    positions = np.stack([c.positions for c in result.configurations])
    types = np.stack([c.types for c in result.configurations])
    box = result.configurations[0].box
    field = np.array([0.95, 0.8, 0.85])[types] + 1e-6 * np.random.default_rng(0).normal(size=types.shape)
    per_species = mean_chord_length(positions, field, box, 1.0, site_rule="active_fraction")
    random = random_field_chord_length(positions, np.ones(types.shape, bool), box, 1.0, site_rule="active_fraction",
                                       n_draws=20, seed=1)
    random_a = random_field_chord_length(positions, types == 0, box, 1.0, site_rule="active_fraction", n_draws=20,
                                         seed=1)
    assert per_species.mean + 3 * per_species.stderr < random.mean - 3 * random.stderr
    assert random_a.mean > random.mean + 3 * (random.stderr + random_a.stderr)
