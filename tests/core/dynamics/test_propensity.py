"""Propensity labels on crafted trajectories with known motion: exact values computed by hand."""

import numpy as np
import pytest

from glass_core.dynamics.propensity import (
    PropensityLabels,
    bond_breaking_propensity,
    bond_survival,
    cage_clock,
    cage_matrix,
    cage_relative_squared_displacement,
    initial_bonds,
    mean_over_particles,
    propensity_labels,
    relaxation_time,
    voronoi_cage_matrix,
)
from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from glass_core.simulation.isoconfigurational import IsoconfigurationalTrajectories
from glass_core.structure.voronoi import voronoi_cells
from tests.helpers.configurations import gaussian_jittered_lattice

KAM = get_system("kam")


@pytest.fixture(scope="module")
def start() -> Configuration:
    return gaussian_jittered_lattice(KAM, 8, np.random.default_rng(3), jitter=0.08)


def frames(start: Configuration, n_replicas: int, n_frames: int) -> np.ndarray:
    """(R, T, N, 2) trajectories in which nothing moves."""
    return np.broadcast_to(start.positions, (n_replicas, n_frames, *start.positions.shape)).copy()


def brute_force_bond_breaking(positions: np.ndarray, start: Configuration) -> np.ndarray:
    """⟨n_i(t)/n_i(0)⟩ over replicas by explicit loops over particle pairs (independent of the module)."""
    n_replicas, n_frames, n, _ = positions.shape
    box = np.asarray(start.box)
    sigma = KAM.sigma

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        delta = b - a
        delta -= box * np.round(delta / box)
        return float(np.hypot(*delta))

    result = np.zeros((n_frames, n))
    for i in range(n):
        bonded = [
            j
            for j in range(n)
            if j != i and distance(start.positions[i], start.positions[j]) < 1.4 * sigma[start.types[i], start.types[j]]
        ]
        for r in range(n_replicas):
            for t in range(n_frames):
                kept = sum(
                    distance(positions[r, t, i], positions[r, t, j]) < 1.8 * sigma[start.types[i], start.types[j]]
                    for j in bonded
                )
                result[t, i] += kept / len(bonded) / n_replicas
    return result


def test_rigid_translation_gives_zero_crsd_and_intact_bonds(start):
    positions = frames(start, 2, 5)
    shifts = np.array([[3.7, -5.2], [-11.0, 0.4]])  # crossing the box: unwrapped positions leave [0, L)
    positions += shifts[:, None, None, :] * np.arange(5)[None, :, None, None]
    cage = voronoi_cage_matrix(start)
    crsd = cage_relative_squared_displacement(positions, cage)
    assert crsd.shape == (5, start.n_particles)
    assert np.max(crsd) < 1e-24
    assert np.max(cage_clock(crsd)) < 1e-12
    bonds = initial_bonds(start.positions, start.types, start.box, KAM.sigma)
    assert np.array_equal(bond_breaking_propensity(positions, bonds, start.box), np.ones((5, start.n_particles)))


def test_one_particle_hop_gives_exact_crsd(start):
    hopper, hop = 27, np.array([0.9, -0.4])
    positions = frames(start, 2, 3)
    positions[0, 1:, hopper] += hop  # replica 0 hops at frame 1; replica 1 stays put
    cells = voronoi_cells(start)
    neighbours = [set(cells.neighbour[cells.centre == i].tolist()) for i in range(start.n_particles)]
    expected = np.zeros(start.n_particles)
    k_h = len(neighbours[hopper])
    expected[hopper] = hop @ hop * (k_h / (k_h + 1)) ** 2  # d_h − d̄_h = a − a/(k_h + 1)
    for i in neighbours[hopper]:
        expected[i] = hop @ hop / (len(neighbours[i]) + 1) ** 2  # d_i − d̄_i = −a/(k_i + 1)
    expected /= 2  # one replica in two hops
    crsd = cage_relative_squared_displacement(positions, voronoi_cage_matrix(start))
    assert np.array_equal(crsd[0], np.zeros(start.n_particles))
    np.testing.assert_allclose(crsd[1], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(crsd[2], crsd[1])
    assert np.count_nonzero(crsd[1] > 1e-20) == 1 + k_h
    assert cage_clock(crsd)[1] == pytest.approx(np.sqrt(expected).mean(), rel=1e-12)


def test_one_particle_hop_gives_exact_bond_breaking(start):
    hopper, hop = 27, np.array([1.6, 0.7])
    positions = frames(start, 2, 3)
    positions[0, 1:, hopper] += hop
    positions[1, 2, hopper] += hop  # replica 1 hops one frame later
    bonds = initial_bonds(start.positions, start.types, start.box, KAM.sigma)
    propensity = bond_breaking_propensity(positions, bonds, start.box)
    expected = brute_force_bond_breaking(positions, start)
    np.testing.assert_array_equal(propensity, expected)
    # by hand: a bond partner of the hopper that lost it keeps (n − 1)/n of its bonds in a hopping replica
    box = np.asarray(start.box)
    partners = bonds.neighbour[bonds.centre == hopper]
    delta = positions[0, 1, partners] - positions[0, 1, hopper]
    delta -= box * np.round(delta / box)
    sig = KAM.sigma[start.types[hopper], start.types[partners]]
    lost = partners[np.hypot(*delta.T) >= 1.8 * sig]
    assert lost.size > 0
    n0 = bonds.n_initial
    np.testing.assert_array_equal(propensity[1, lost], 0.5 * ((n0[lost] - 1) / n0[lost] + 1.0))
    np.testing.assert_array_equal(propensity[2, lost], (n0[lost] - 1) / n0[lost])
    assert propensity[2, hopper] == (n0[hopper] - lost.size) / n0[hopper]
    untouched = np.setdiff1d(np.arange(start.n_particles), np.append(lost, hopper))
    assert np.all(propensity[:, untouched] == 1.0)


def test_bond_survival_uses_current_distance(start):
    hopper, hop = 27, np.array([1.6, 0.7])
    positions = frames(start, 1, 3)[0]
    positions[1, hopper] += hop
    bonds = initial_bonds(start.positions, start.types, start.box, KAM.sigma)
    survival = bond_survival(positions, bonds, start.box)
    assert survival[1, hopper] < 1.0
    assert survival[2, hopper] == 1.0  # back home: its bonds count again


def test_initial_bonds_follow_the_definition(start):
    bonds = initial_bonds(start.positions, start.types, start.box, KAM.sigma)
    box = np.asarray(start.box)
    delta = start.positions[bonds.neighbour] - start.positions[bonds.centre]
    delta -= box * np.round(delta / box)
    assert np.all(np.hypot(*delta.T) < 1.4 * bonds.sigma)
    assert np.array_equal(bonds.sigma, KAM.sigma[start.types[bonds.centre], start.types[bonds.neighbour]])
    pairs = set(zip(bonds.centre.tolist(), bonds.neighbour.tolist(), strict=True))
    assert all((j, i) in pairs for i, j in pairs)
    assert np.array_equal(bonds.n_initial, np.bincount(bonds.centre, minlength=start.n_particles))
    every = start.positions[None] - start.positions[:, None]
    every -= box * np.round(every / box)
    within = np.hypot(every[..., 0], every[..., 1]) < 1.4 * KAM.sigma[start.types[:, None], start.types[None]]
    np.fill_diagonal(within, False)
    assert pairs == set(zip(*np.nonzero(within), strict=True))  # complete: every close pair is a bond


def test_isolated_particle_has_nan_bond_breaking_and_is_skipped():
    positions = np.array([[1.0, 1.0], [1.9, 1.0], [1.0, 1.9], [6.0, 6.0]])
    types = np.zeros(4, dtype=np.int64)
    bonds = initial_bonds(positions, types, (10.0, 10.0), KAM.sigma)
    assert bonds.n_initial.tolist() == [2, 2, 2, 0]
    trajectory = np.stack([positions, positions + [[0, 0], [0, 0], [0, 1.5], [0, 0]]])
    survival = bond_survival(trajectory, bonds, (10.0, 10.0))
    assert np.isnan(survival[:, 3]).all()
    assert survival[1, :3].tolist() == [0.5, 0.5, 0.0]  # |r_02| = 2.4 ≥ 1.8, |r_12| = √(0.81+5.76) ≥ 1.8
    assert mean_over_particles(survival).tolist() == [1.0, pytest.approx(1.0 / 3.0)]
    assert mean_over_particles(survival, np.array([True, False, False, True]))[1] == 0.5


def test_too_many_bonds_and_too_small_box_are_rejected():
    crowded = np.random.default_rng(0).uniform(0, 1.0, (30, 2)) + 4.0
    with pytest.raises(ValueError, match="bonds"):
        initial_bonds(crowded, np.zeros(30, dtype=np.int64), (10.0, 10.0), KAM.sigma)
    with pytest.raises(ValueError, match="too small"):
        initial_bonds(np.zeros((2, 2)), np.zeros(2, dtype=np.int64), (3.5, 10.0), KAM.sigma)


def test_cage_matrix_averages_each_neighbour_once():
    centre = np.array([0, 0, 0, 1, 2, 2])
    neighbour = np.array([1, 1, 2, 0, 0, 2])  # (0, 1) twice (two cell edges), (2, 2) a self pair
    matrix = cage_matrix(centre, neighbour, 4).toarray()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(matrix[0], [1 / 3, 1 / 3, 1 / 3, 0])
    np.testing.assert_allclose(matrix[2], [0.5, 0, 0.5, 0])
    np.testing.assert_allclose(matrix[3], [0, 0, 0, 1])  # no neighbours: d̄ = d, Δ = 0


@pytest.mark.parametrize("tau", [0.37, 37.3, 2.2e3])
def test_relaxation_time_of_an_exponential_is_exact(tau):
    times = np.concatenate([[0.0], np.logspace(-2, 5, 29)])
    assert relaxation_time(times, np.exp(-times / tau)) == pytest.approx(tau, rel=1e-12)


def test_relaxation_time_edge_cases():
    times = np.array([0.0, 1.0, 2.0, 4.0])
    assert relaxation_time(times, np.array([1.0, 0.9, 0.8, 0.7])) is None
    assert relaxation_time(times, np.array([0.2, 0.1, 0.0, 0.0])) == 0.0
    assert relaxation_time(times, np.array([1.0, 0.5, 0.0, 0.0])) == pytest.approx(1.0 + (0.5 - np.exp(-1)) / 0.5)
    noisy = np.array([1.0, 0.3, 0.5, 0.1])  # the first crossing counts
    assert relaxation_time(times, noisy) < 1.0


def test_labels_of_crafted_trajectories_round_trip(start, tmp_path):
    positions = frames(start, 3, 3)
    positions[0, 1:, 27] += [1.6, 0.7]
    trajectories = IsoconfigurationalTrajectories(
        steps=np.array([0, 10, 100]),
        times=np.array([0.0, 0.05, 0.5]),
        positions=positions,
        types=start.types,
        box=start.box,
        seeds=np.array([1, 2, 3]),
        thermo=np.zeros((3, 3, 3)),
        system="kam",
        metadata={"protocol": {"temperature": 0.5}},
    )
    labels = propensity_labels(trajectories, KAM)
    bonds = initial_bonds(start.positions, start.types, start.box, KAM.sigma)
    np.testing.assert_array_equal(labels.bond_breaking, bond_breaking_propensity(positions, bonds, start.box))
    np.testing.assert_allclose(labels.crsd, cage_relative_squared_displacement(positions, voronoi_cage_matrix(start)))
    assert labels.crsd.shape == labels.bond_breaking.shape == (3, start.n_particles)
    assert labels.crsd_halves.shape == (2, 3, start.n_particles)
    np.testing.assert_allclose(labels.crsd_halves[1], 0.0)  # replica 1 (odd half) never moves
    assert labels.n_replicas == 3 and labels.temperature == 0.5 and labels.tau_alpha is None
    back = PropensityLabels.load(labels.save(tmp_path / "labels.npz"))
    for name in ("steps", "times", "crsd", "bond_breaking", "crsd_halves", "bond_breaking_halves", "n_bonds", "types"):
        np.testing.assert_array_equal(getattr(back, name), getattr(labels, name))
    assert back.box == labels.box and back.metadata["seeds"] == [1, 2, 3]
    np.testing.assert_array_equal(back.cage_clock, labels.cage_clock)
