"""Physics-inspired descriptors [G]/[J]: radical-Voronoi perimeters on lattices, the compiled
coarse-graining kernel against an O(N²) numpy sum, L = 0, empty channels, spec validation, columns."""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.pair_potentials import pair_energy
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import (
    DEFAULT_LENGTHS,
    DESCRIPTOR_OBSERVABLES,
    DescriptorSpec,
    coarse_grained_fields,
    particle_energies,
    physics_inspired_descriptors,
    radical_voronoi_perimeters,
)
from glass_core.structure.voronoi import voronoi_cells

TERNARY = get_system("ka2d_ternary")


def square_lattice(n_side: int, a: float, checkerboard: bool = False) -> Configuration:
    ij = np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij"), -1).reshape(-1, 2)
    types = (ij.sum(axis=1) % 2) if checkerboard else np.zeros(len(ij), int)
    return Configuration((ij + 0.25) * a, types, (n_side * a, n_side * a))


# ---------------------------------------------------------------------------- radical Voronoi perimeter
def test_square_lattice_cells_are_squares():
    config = square_lattice(6, 1.3)
    perimeters = radical_voronoi_perimeters(config, np.array([0.5]))
    np.testing.assert_allclose(perimeters, 4 * 1.3, rtol=1e-12)


def test_triangular_lattice_cells_are_regular_hexagons():
    a, nx, ny = 1.1, 6, 6  # ny even: the lattice is periodic in a box nx a × ny a √3/2
    rows = [[(i + 0.5 * (j % 2)) * a, j * a * np.sqrt(3) / 2] for j in range(ny) for i in range(nx)]
    config = Configuration(np.asarray(rows) + 0.1, np.zeros(nx * ny, int), (nx * a, ny * a * np.sqrt(3) / 2))
    perimeters = radical_voronoi_perimeters(config, np.array([0.4]))
    np.testing.assert_allclose(perimeters, 2 * np.sqrt(3) * a, rtol=1e-12)  # 6 sides of a/√3


def test_checkerboard_radical_line_shifts_with_radii():
    """A at even, B at odd sites of a square lattice (spacing a): the A–B radical line lies at
    d = (a² + R_A² − R_B²)/(2a) from A; with d > a/2 the A cell is the square |x|,|y| ≤ d cut by the
    A–A bisectors |x| + |y| = a (an octagon), the B cell the uncut square |x|,|y| ≤ a − d."""
    a, r_a, r_b = 1.0, 0.5, 0.3
    config = square_lattice(6, a, checkerboard=True)
    perimeters = radical_voronoi_perimeters(config, np.array([r_a, r_b]))
    d = (a * a + r_a**2 - r_b**2) / (2 * a)
    assert a / 2 < d < a
    octagon = 8 * (a - d) + 4 * np.sqrt(2) * (2 * d - a)
    np.testing.assert_allclose(perimeters[config.types == 0], octagon, rtol=1e-12)
    np.testing.assert_allclose(perimeters[config.types == 1], 8 * (a - d), rtol=1e-12)


def test_equal_radii_give_plain_voronoi_perimeters_of_freud():
    config = random_configuration(TERNARY, 120, np.random.default_rng(3))
    perimeters = radical_voronoi_perimeters(config, np.full(3, 0.45))
    cells = voronoi_cells(config)
    freud_perimeters = np.bincount(cells.centre, cells.ridge_lengths, config.n_particles)
    np.testing.assert_allclose(perimeters, freud_perimeters, rtol=1e-5)  # freud works in float32


def test_radii_must_cover_every_type():
    config = random_configuration(TERNARY, 30, np.random.default_rng(0))
    with pytest.raises(ValueError, match="radius per type"):
        radical_voronoi_perimeters(config, np.array([0.5, 0.44]))


# ---------------------------------------------------------------------------- coarse graining
def brute_force_fields(config: Configuration, energies, perimeters, n_types, spec):
    """O(N²) numpy: every pair at its minimum image, w = e^{−r/L} (L = 0: j = i only), cut r < cutoff."""
    delta = config.minimum_image(config.positions[None, :, :] - config.positions[:, None, :])
    r = np.sqrt((delta**2).sum(-1))
    inside = r < spec.cutoff
    out = {name: np.zeros((config.n_particles, n_types + 1, len(spec.lengths))) for name in DESCRIPTOR_OBSERVABLES}
    for k, length in enumerate(spec.lengths):
        w = np.eye(config.n_particles) if length == 0 else np.exp(-r / length) * inside
        for c in range(n_types + 1):
            wc = w * (config.types[None, :] == c) if c < n_types else w
            den = wc.sum(1)
            safe = np.where(den > 0, den, 1.0)
            epot = np.where(den > 0, wc @ energies / safe, 0.0)
            out["DEN"][:, c, k] = den
            out["EPOT"][:, c, k] = epot
            out["PERI"][:, c, k] = np.where(den > 0, wc @ perimeters / safe, 0.0)
            spread = (energies[None, :] - epot[:, None]) ** 2
            out["VAR"][:, c, k] = np.where(den > 0, (wc * spread).sum(1) / safe, 0.0)
    return out


@pytest.mark.parametrize(
    ("n", "cutoff"),
    [(50, 20.0), (50, 2.2), (400, 4.0)],  # cut beyond half the box; cut inside it; cell list with ≥ 3 cells
)
def test_kernel_matches_brute_force(n, cutoff):
    config = random_configuration(TERNARY, n, np.random.default_rng(n))
    rng = np.random.default_rng(1)
    energies = -3.0 + 0.4 * rng.standard_normal(n)
    perimeters = 3.5 + 0.3 * rng.standard_normal(n)
    spec = DescriptorSpec((0.0, 0.5, 1.3, 3.0, 7.0), cutoff=cutoff)
    fields = coarse_grained_fields(config, energies, perimeters, 3, spec)
    expected = brute_force_fields(config, energies, perimeters, 3, spec)
    for name in DESCRIPTOR_OBSERVABLES:
        np.testing.assert_allclose(fields[name], expected[name], rtol=0, atol=1e-10, err_msg=name)


def test_descriptors_of_a_configuration_match_brute_force_with_its_energies_and_perimeters():
    config = random_configuration(TERNARY, 60, np.random.default_rng(7))
    spec = DescriptorSpec((0.0, 1.0, 2.5))
    features = physics_inspired_descriptors(config, TERNARY, spec)
    energies = particle_energies(config, TERNARY)
    perimeters = radical_voronoi_perimeters(config, np.asarray(TERNARY.radical_voronoi_radii))
    expected = brute_force_fields(config, energies, perimeters, 3, spec)
    flat = np.concatenate([expected[name].reshape(60, -1) for name in DESCRIPTOR_OBSERVABLES], axis=1)
    assert features.shape == (60, len(spec.feature_names(3))) and features.dtype == np.float64
    np.testing.assert_allclose(features, flat, rtol=1e-13, atol=1e-10)  # VAR reaches 1e5 (close pairs of RSA)


def test_particle_energies_are_half_the_pair_sum():
    config = random_configuration(TERNARY, 60, np.random.default_rng(8))
    delta = config.minimum_image(config.positions[None, :, :] - config.positions[:, None, :])
    r = np.sqrt((delta**2).sum(-1)) + np.eye(60)  # diagonal moved off r = 0 (then masked out)
    v = pair_energy(TERNARY, r, config.types[:, None], config.types[None, :]) * (1 - np.eye(60))
    np.testing.assert_allclose(particle_energies(config, TERNARY), 0.5 * v.sum(axis=1), rtol=1e-10, atol=1e-12)


def test_length_zero_is_the_particle_alone():
    config = random_configuration(TERNARY, 40, np.random.default_rng(2))
    energies = np.random.default_rng(3).normal(-3, 0.5, 40)
    perimeters = np.random.default_rng(4).normal(3.5, 0.2, 40)
    fields = coarse_grained_fields(config, energies, perimeters, 3, DescriptorSpec((0.0, 1.0)))
    own = np.eye(3)[config.types]  # (N, 3) one-hot type
    np.testing.assert_array_equal(fields["DEN"][:, :3, 0], own)
    np.testing.assert_array_equal(fields["DEN"][:, 3, 0], 1.0)
    np.testing.assert_allclose(fields["EPOT"][:, :3, 0], own * energies[:, None], atol=1e-12)
    np.testing.assert_allclose(fields["EPOT"][:, 3, 0], energies, atol=1e-12)
    np.testing.assert_allclose(fields["PERI"][:, 3, 0], perimeters, atol=1e-12)
    np.testing.assert_allclose(fields["VAR"][..., 0], 0.0, atol=1e-12)


def test_empty_channel_is_zero_not_nan():
    config = random_configuration(TERNARY, 40, np.random.default_rng(5))
    config.types[:] = 0  # no B or C particle anywhere
    fields = coarse_grained_fields(config, np.full(40, -2.0), np.full(40, 3.0), 3, DescriptorSpec((0.0, 2.0)))
    for name in DESCRIPTOR_OBSERVABLES:
        assert np.all(np.isfinite(fields[name]))
        np.testing.assert_array_equal(fields[name][:, 1:3], 0.0)
    np.testing.assert_allclose(fields["EPOT"][:, 0], -2.0)  # a constant field stays constant
    np.testing.assert_allclose(fields["VAR"][:, 0], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------- spec and columns
@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"lengths": ()}, "lengths"),
        ({"lengths": (-1.0, 1.0)}, "lengths"),
        ({"lengths": (2.0, 1.0)}, "lengths"),
        ({"lengths": (1.0, 1.0)}, "lengths"),
        ({"lengths": (1.0,), "observables": ("DEN", "RHO")}, "observables"),
        ({"lengths": (1.0,), "observables": ("DEN", "DEN")}, "observables"),
        ({"lengths": (1.0,), "cutoff": 0.0}, "cutoff"),
    ],
)
def test_spec_validation_names_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        DescriptorSpec(**kwargs)


def test_feature_names_and_column_order():
    spec = DescriptorSpec((0, 2.5), observables=("PERI", "DEN"))
    names = spec.feature_names(3)
    assert names[:3] == ["PERI_A_L0", "PERI_A_L2.5", "PERI_B_L0"]
    assert names[-2:] == ["DEN_all_L0", "DEN_all_L2.5"] and len(names) == 2 * 4 * 2
    config = random_configuration(TERNARY, 50, np.random.default_rng(9))
    features = physics_inspired_descriptors(config, TERNARY, spec)
    columns = dict(zip(names, features.T, strict=True))
    np.testing.assert_array_equal(columns["DEN_all_L0"], 1.0)
    np.testing.assert_array_equal(columns["DEN_B_L0"], (config.types == 1).astype(float))
    perimeters = radical_voronoi_perimeters(config, np.asarray(TERNARY.radical_voronoi_radii))
    np.testing.assert_allclose(columns["PERI_all_L0"], perimeters, atol=1e-12)
    assert np.all(columns["DEN_all_L2.5"] > columns["DEN_A_L2.5"])


def test_default_lengths_form_a_valid_spec_of_a_dozen_lengths():
    spec = DescriptorSpec(DEFAULT_LENGTHS)
    assert spec.lengths[0] == 0.0 and 5.0 <= spec.lengths[-1] <= 6.0 and 9 <= len(spec.lengths) <= 13
    assert len(spec.feature_names(3)) == 4 * 4 * len(DEFAULT_LENGTHS)


def lammps_radical_perimeters(config: Configuration, radii: np.ndarray) -> np.ndarray:
    """Σ edge lengths of LAMMPS ``compute voronoi/atom radius`` (its own voro++ build, 3D cells of a
    2D box: the z-wall faces, neighbour id 0, are dropped; the ghost cutoff must cover every cell)."""
    from glass_core.simulation.lammps_driver import open_lammps

    lmp = open_lammps()
    try:
        lmp.commands_string(
            f"units lj\ndimension 2\natom_style atomic\nboundary p p p\n"
            f"region box block 0 {config.box[0]!r} 0 {config.box[1]!r} -0.5 0.5\ncreate_box 3 box\nmass * 1.0"
        )
        xyz = np.zeros((config.n_particles, 3))
        xyz[:, :2] = config.wrapped().positions
        ids = list(range(1, config.n_particles + 1))
        lmp.create_atoms(config.n_particles, ids, (config.types + 1).tolist(), xyz.ravel().tolist())
        radius = "+".join(f"(type=={t + 1})*{float(r)!r}" for t, r in enumerate(radii))
        lmp.commands_string(
            f'variable r atom "{radius}"\ncomm_modify cutoff 4.0\n'
            "compute v all voronoi/atom radius v_r neighbors yes\nrun 0"
        )
        faces = np.array(lmp.numpy.extract_compute("v", 2, 2), copy=True)  # (id, neighbour id, edge length)
    finally:
        lmp.close()
    faces = faces[faces[:, 1] > 0]
    return np.bincount(faces[:, 0].astype(np.int64) - 1, faces[:, 2], config.n_particles)


@pytest.mark.lammps
def test_radical_perimeters_match_lammps_voronoi():
    config = random_configuration(TERNARY, 150, np.random.default_rng(11))
    radii = np.asarray(TERNARY.radical_voronoi_radii)
    np.testing.assert_allclose(
        radical_voronoi_perimeters(config, radii), lammps_radical_perimeters(config, radii), rtol=1e-10
    )
