"""Inherent structures (glass_core.simulation.inherent_structures): LAMMPS FIRE + CG minimisation."""

import numpy as np
import pytest

from glass_core.models.energy import potential_energy
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, run_swap_mc

pytestmark = pytest.mark.lammps

SYSTEM = get_system("ka2d_ternary")


@pytest.fixture(scope="module")
def liquid():
    start = random_configuration(SYSTEM, 100, np.random.default_rng(21))
    return run_swap_mc(start, SYSTEM, SwapMCParameters(0.5), 200, seed=3).configuration


@pytest.fixture(scope="module")
def inherent(liquid, tmp_path_factory):
    from glass_core.simulation.inherent_structures import minimise

    return minimise(liquid, SYSTEM, force_tolerance=1e-8, workdir=tmp_path_factory.mktemp("minimise"))


def test_minimisation_reaches_force_tolerance_and_lowers_energy(liquid, inherent):
    assert inherent.converged
    assert inherent.force_norm < 1e-8
    assert inherent.max_force <= inherent.force_norm
    assert inherent.initial_energy == pytest.approx(potential_energy(liquid, SYSTEM).total, rel=1e-10)
    # a liquid at T = 0.5 sits ≈ kT/2 per degree of freedom above its minimum: ≈ 0.4 per particle here
    assert inherent.energy < inherent.initial_energy - 0.1 * liquid.n_particles
    assert inherent.iterations > 0
    assert np.array_equal(inherent.configuration.types, liquid.types)
    assert np.all((inherent.configuration.positions >= 0) & (inherent.configuration.positions < 10.0))
    assert inherent.configuration.metadata["inherent_structure"] is True


def test_inherent_structure_energy_agrees_with_numpy_and_lammps(inherent, tmp_path):
    from glass_core.simulation.lammps_driver import lammps_potential_energy

    reference = potential_energy(inherent.configuration, SYSTEM)
    assert inherent.energy == pytest.approx(reference.total, rel=1e-10)
    assert np.allclose(inherent.per_particle, reference.per_particle, rtol=0, atol=1e-10)
    lammps = lammps_potential_energy(inherent.configuration, SYSTEM, tmp_path, style="exact")
    assert lammps.total == pytest.approx(reference.total, rel=1e-10)


def test_minimising_a_minimum_leaves_it_in_place(inherent):
    from glass_core.simulation.inherent_structures import minimise

    again = minimise(inherent.configuration, SYSTEM, force_tolerance=1e-8)
    delta = inherent.configuration.minimum_image(again.configuration.positions - inherent.configuration.positions)
    assert np.abs(delta).max() < 1e-6
    assert again.energy == pytest.approx(inherent.energy, rel=1e-12)
    assert again.iterations < 100  # the table stages step off the exact minimum by ~1e-7 only


def test_invalid_tolerance_is_rejected(liquid):
    from glass_core.simulation.inherent_structures import minimise

    with pytest.raises(ValueError):
        minimise(liquid, SYSTEM, force_tolerance=0.0)
