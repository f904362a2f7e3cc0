"""Swap Monte Carlo (glass_core.simulation.swap_monte_carlo): exact Boltzmann sampling on tiny systems, energy
bookkeeping against numpy and LAMMPS, reproducibility, composition and acceptance."""

import itertools

import numpy as np
import pytest

from glass_core.dynamics.overlap import self_overlap
from glass_core.models.configuration import Configuration
from glass_core.models.energy import potential_energy
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.pair_potentials import lj_smooth_c2
from glass_core.models.systems import get_system
from glass_core.simulation.swap_monte_carlo import (
    SwapMCParameters,
    SwapMonteCarlo,
    run_swap_mc,
    sample_equilibria,
)

SYSTEM = get_system("ka2d_ternary")


def _batch_error(indicator: np.ndarray, n_batches: int = 20) -> np.ndarray:
    """Standard error of the mean of each column of a (samples, k) 0/1 array, from batch means."""
    usable = (len(indicator) // n_batches) * n_batches
    batches = indicator[:usable].reshape(n_batches, -1, indicator.shape[1]).mean(axis=1)
    return batches.std(axis=0, ddof=1) / np.sqrt(n_batches)


def _tolerance(exact: np.ndarray, indicator: np.ndarray) -> np.ndarray:
    """5 standard errors: batch-means error, floored by the independent-sample binomial error."""
    n = len(indicator)
    return 5.0 * np.maximum(_batch_error(indicator), np.sqrt(exact * (1 - exact) / n)) + 1e-4


def test_swap_moves_sample_exact_boltzmann_weights_of_type_assignments():
    """Positions fixed, swap moves only: P(assignment) must be e^{−E/T}/Z over all 12 arrangements of AABC."""
    positions = np.array([[3.0, 3.0], [4.05, 3.1], [3.1, 4.0], [4.2, 4.15]])
    types = np.array([0, 0, 1, 2])
    config = Configuration(positions, types, (7.0, 7.0), SYSTEM.name)
    arrangements = sorted(set(itertools.permutations(types)))
    assert len(arrangements) == 12
    energies = np.array(
        [potential_energy(Configuration(positions, np.array(t), config.box), SYSTEM).total for t in arrangements]
    )
    assert np.diff(np.sort(energies)).min() > 1e-6  # the energy identifies the arrangement
    temperature = 0.3

    def boltzmann(t: float) -> np.ndarray:
        weights = np.exp(-(energies - energies.min()) / t)
        return weights / weights.sum()

    exact = boltzmann(temperature)
    assert exact.min() > 1e-3 and exact.max() < 0.5  # a non-trivial distribution

    params = SwapMCParameters(temperature, swap_probability=1.0)
    chain = SwapMonteCarlo(config, SYSTEM, params, seed=11)
    trace = chain.run(100_000) * config.n_particles  # total energy after every sweep (4 attempts)
    assert np.array_equal(chain.positions, config.positions)  # no displacement was attempted
    level = np.abs(trace[:, None] - energies[None, :]).argmin(axis=1)
    assert np.abs(trace - energies[level]).max() < 1e-9  # running energy is exactly one of the levels
    indicator = (level[:, None] == np.arange(len(energies))[None, :]).astype(float)
    sampled = indicator.mean(axis=0)
    assert np.all(np.abs(sampled - exact) < _tolerance(exact, indicator)), (sampled, exact)
    wrong = boltzmann(1.1 * temperature)  # the test has the power to see a 10 % temperature error
    assert np.any(np.abs(sampled - wrong) > _tolerance(wrong, indicator))
    assert 0.0 < chain.acceptance["swap"] < 1.0


def test_displacement_moves_sample_exact_pair_energy_distribution():
    """Two A particles on a 6×6 torus, uniform proposals: P(E ≤ e) must equal the Boltzmann integral.

    With δ_max = L/2 the trial position is uniform on the torus, so the exact distribution of the pair
    distance is ∝ 2πr e^{−V(r)/T} for r < r_c plus the flat area L² − π r_c² where V = 0.
    """
    length, temperature = 6.0, 1.0
    config = Configuration(np.array([[1.0, 1.0], [2.2, 1.3]]), np.array([0, 0]), (length, length), SYSTEM.name)
    params = SwapMCParameters(temperature, swap_probability=0.0, max_displacement=length / 2)
    chain = SwapMonteCarlo(config, SYSTEM, params, seed=5)
    energy = chain.run(100_000)[1:] * 2.0  # pair energy after every sweep (2 attempts)

    rc = SYSTEM.cutoff[0, 0]
    r = np.linspace(0.6, rc, 400_001)
    v = lj_smooth_c2(r, 1.0, 1.0)
    thresholds = np.array([-0.9, -0.6, -0.3, -1e-3, 1e-3, 0.5, 2.0])

    def cdf(t: float) -> np.ndarray:
        density = 2 * np.pi * r * np.exp(-v / t)
        dr = r[1] - r[0]
        flat = length**2 - np.pi * rc**2
        z = density.sum() * dr + flat
        return np.array([(density[v <= e].sum() * dr + (flat if e >= 0 else 0.0)) / z for e in thresholds])

    exact = cdf(temperature)
    indicator = (energy[:, None] <= thresholds[None, :]).astype(float)
    sampled = indicator.mean(axis=0)
    assert np.all(np.abs(sampled - exact) < _tolerance(exact, indicator)), (sampled, exact)
    wrong = cdf(1.1 * temperature)
    assert np.any(np.abs(sampled - wrong) > _tolerance(wrong, indicator))
    assert 0.0 < chain.acceptance["displacement"] < 1.0


@pytest.fixture(scope="module")
def liquid_150():
    """A 150-particle ka2d_ternary chain after 300 sweeps at T = 0.5 (cell-built Verlet list)."""
    start = random_configuration(SYSTEM, 150, np.random.default_rng(4))
    chain = SwapMonteCarlo(start, SYSTEM, SwapMCParameters(0.5), seed=2)
    chain.run(300, trace_every=10)
    return start, chain


@pytest.mark.parametrize("n_particles", [40, 100, 150])  # all pairs / Verlet by all pairs / Verlet by cells
def test_running_energy_equals_numpy_energy(n_particles):
    start = random_configuration(SYSTEM, n_particles, np.random.default_rng(n_particles))
    chain = SwapMonteCarlo(start, SYSTEM, SwapMCParameters(0.5), seed=1)
    chain.run(300)
    reference = potential_energy(chain.configuration(), SYSTEM)
    assert chain.energy == pytest.approx(reference.total, rel=1e-10)
    assert np.allclose(chain.per_particle_energy, reference.per_particle, rtol=0, atol=1e-9)
    assert chain.recompute_energy() == pytest.approx(reference.total, rel=1e-12)
    if n_particles > 64:
        assert chain.attempts["neighbour_rebuilds"] > 0  # the rebuild path was exercised


@pytest.mark.lammps
def test_running_energy_equals_lammps_energy(liquid_150, tmp_path):
    from glass_core.simulation.lammps_driver import lammps_potential_energy

    _, chain = liquid_150
    lammps = lammps_potential_energy(chain.configuration(), SYSTEM, tmp_path, style="exact")
    assert chain.energy == pytest.approx(lammps.total, rel=1e-10)
    assert np.allclose(chain.per_particle_energy, lammps.per_particle, rtol=0, atol=1e-9)


def test_swaps_conserve_composition_and_acceptance_rates_are_fractions(liquid_150):
    start, chain = liquid_150
    assert np.array_equal(np.bincount(chain.types, minlength=3), np.bincount(start.types, minlength=3))
    assert set(chain.acceptance) == {"displacement", "swap", "swap_A_C", "swap_B_C"}
    for kind, rate in chain.acceptance.items():
        assert 0.0 < rate < 1.0, kind
    attempts = chain.attempts
    assert attempts["displacement"] + attempts["swap"] == 300 * 150
    assert attempts["swap"] == attempts["swap_A_C"] + attempts["swap_B_C"]
    assert attempts["swap"] / (300 * 150) == pytest.approx(0.2, abs=0.01)
    assert np.any(chain.types != start.types)  # swaps were accepted
    assert np.all((chain.positions >= 0) & (chain.positions < np.asarray(chain.box)))


def test_same_seed_gives_identical_chain_also_when_split():
    start = random_configuration(SYSTEM, 100, np.random.default_rng(8))
    params = SwapMCParameters(0.4)
    one = run_swap_mc(start, SYSTEM, params, 200, seed=123, sample_every=10)
    again = run_swap_mc(start, SYSTEM, params, 200, seed=123, sample_every=10)
    split = SwapMonteCarlo(start, SYSTEM, params, seed=123)
    trace = np.concatenate([split.run(120, 10), split.run(80, 10)])
    other = run_swap_mc(start, SYSTEM, params, 200, seed=124, sample_every=10)
    for result_positions, result_types, result_trace in (
        (again.configuration.positions, again.configuration.types, again.energy_trace),
        (split.positions, split.types, trace),
    ):
        assert np.array_equal(result_positions, one.configuration.positions)
        assert np.array_equal(result_types, one.configuration.types)
        assert np.array_equal(result_trace, one.energy_trace)
    assert not np.array_equal(other.configuration.positions, one.configuration.positions)
    assert one.energy_trace.shape == (20,)
    assert one.attempts == again.attempts


def test_sample_equilibria_returns_decorrelated_samples_with_consistent_energies():
    result = sample_equilibria(
        SYSTEM, 100, temperature=0.8, n_samples=3, equilibration_sweeps=200, sweeps_between_samples=200, seed=9
    )
    assert len(result.configurations) == 3
    for config, energy in zip(result.configurations, result.energies, strict=True):
        assert potential_energy(config, SYSTEM).mean == pytest.approx(energy, rel=1e-10)
        assert np.array_equal(np.bincount(config.types, minlength=3), SYSTEM.type_counts(100))
        assert config.metadata["temperature"] == 0.8
    assert result.energy_trace.shape == result.trace_sweeps.shape == (80,)
    assert result.trace_sweeps[-1] == 800 and np.all(np.diff(result.trace_sweeps) == 10)
    # at T = 0.8 (a liquid) 200 sweeps move most particles by more than 0.3 or change their types
    assert np.all(result.typed_overlaps <= result.overlaps)
    assert np.all(result.typed_overlaps < 0.5)
    assert np.all(result.mean_squared_displacements > 0.02)
    assert np.all((result.type_changed_fraction > 0) & (result.type_changed_fraction < 1))
    assert result.parameters["swap_probability"] == 0.2


def test_self_overlap_limits():
    types = np.array([0, 1, 2, 0])
    still = np.zeros((4, 2))
    assert self_overlap(still) == 1.0
    assert self_overlap(np.full((4, 2), 0.5)) == 0.0
    assert self_overlap(np.array([[0.0, 0.29], [0.0, 0.31], [0.0, 0.0], [1.0, 1.0]]), a=0.3) == 0.5
    assert self_overlap(still, 0.3, types, types) == 1.0
    assert self_overlap(still, 0.3, types, np.array([2, 1, 0, 0])) == 0.5


def test_parameters_and_inputs_are_validated():
    with pytest.raises(ValueError):
        SwapMCParameters(0.0)
    with pytest.raises(ValueError):
        SwapMCParameters(0.3, swap_probability=1.5)
    with pytest.raises(ValueError):
        SwapMCParameters(0.3, swap_pairs=((2, 2),))
    with pytest.raises(ValueError):
        SwapMCParameters(0.3, max_displacement=0.2, skin=0.3)
    small = Configuration(np.array([[0.5, 0.5], [1.5, 0.5]]), np.array([0, 2]), (4.0, 4.0))
    with pytest.raises(ValueError, match="half the box"):
        SwapMonteCarlo(small, SYSTEM, SwapMCParameters(0.3), seed=0)
    with pytest.raises(ValueError, match="C²-smooth"):
        SwapMonteCarlo(small, get_system("kam"), SwapMCParameters(0.3), seed=0)
