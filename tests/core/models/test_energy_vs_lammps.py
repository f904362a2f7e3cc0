"""numpy energy (glass_core.models.energy) against LAMMPS for each model system."""

import numpy as np
import pytest

from glass_core.models.energy import potential_energy
from glass_core.models.pair_potentials import pair_energy
from glass_core.models.systems import SYSTEMS, get_system
from glass_core.simulation.lammps_driver import lammps_potential_energy
from tests.helpers.configurations import gaussian_jittered_lattice


@pytest.mark.lammps
@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_numpy_energy_equals_lammps(name, tmp_path):
    system = get_system(name)
    config = gaussian_jittered_lattice(system, 12, np.random.default_rng(3), jitter=0.08)
    ours = potential_energy(config, system)
    theirs = lammps_potential_energy(config, system, tmp_path)
    assert ours.total == pytest.approx(theirs.total, rel=1e-8)
    assert np.allclose(ours.per_particle, theirs.per_particle, rtol=1e-8, atol=1e-10)
    assert ours.per_particle.sum() == pytest.approx(ours.total, rel=1e-12)


def test_two_particle_energy_is_the_pair_formula():
    system = get_system("kam")
    from glass_core.models.configuration import Configuration

    config = Configuration(np.array([[1.0, 1.0], [2.1, 1.0]]), np.array([0, 1]), (10.0, 10.0))
    expected = pair_energy(system, np.array([1.1]), np.array([0]), np.array([1]))[0]
    energy = potential_energy(config, system)
    assert energy.total == pytest.approx(expected, rel=1e-14)
    assert np.allclose(energy.per_particle, expected / 2)


def test_energy_sees_periodic_images():
    system = get_system("abm")
    from glass_core.models.configuration import Configuration

    inside = Configuration(np.array([[5.0, 5.0], [6.0, 5.0]]), np.array([0, 0]), (10.0, 10.0))
    across = Configuration(np.array([[0.4, 5.0], [9.4, 5.0]]), np.array([0, 0]), (10.0, 10.0))
    assert potential_energy(across, system).total == pytest.approx(potential_energy(inside, system).total, rel=1e-12)


@pytest.mark.lammps
def test_freud_voronoi_still_works_after_lammps_loaded(tmp_path):
    """LAMMPS bundles voro++; loading it first used to make freud's Voronoi crash (segfault)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, pathlib\n"
        "from glass_core.models.systems import get_system\n"
        "from glass_core.simulation.lammps_driver import lammps_potential_energy\n"
        "from tests.helpers.configurations import gaussian_jittered_lattice\n"
        "s = get_system('kam'); c = gaussian_jittered_lattice(s, 10, np.random.default_rng(0))\n"
        f"lammps_potential_energy(c, s, pathlib.Path({str(tmp_path)!r}))\n"
        "from glass_core.structure.voronoi import voronoi_areas\n"
        "assert abs(voronoi_areas(c).sum() / c.area - 1) < 1e-6\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
