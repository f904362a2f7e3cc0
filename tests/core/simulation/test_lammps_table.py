"""LAMMPS ``pair_style table`` for the C²-smooth LJ of ka2d_ternary against the exact numpy energy.

Measured (``benchmarks/ternary_md_speed.py``, N = 1290 liquid at T = 0.5): largest per-particle error
2.6×10⁻⁴ with linear interpolation on 2 000 points (the default, fastest), 3×10⁻⁶ linear on 20 000,
4×10⁻⁹ with cubic-spline interpolation on 2 000 points.
"""

import numpy as np
import pytest

from glass_core.files import atomic_write_text
from glass_core.models.energy import potential_energy
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.lammps_driver import open_session, pair_block
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, run_swap_mc

pytestmark = pytest.mark.lammps

SYSTEM = get_system("ka2d_ternary")


def _lammps_per_particle(config, block: str, workdir) -> np.ndarray:
    data = config.write(workdir / "c.data", SYSTEM.type_names)
    atomic_write_text(workdir / "pair.lmp", block)
    lmp = open_session(data, workdir / "pair.lmp")
    try:
        for command in ("compute pa all pe/atom", "run 0"):
            lmp.command(command)
        n = config.n_particles
        ids = np.asarray(lmp.numpy.extract_atom("id"))[:n]
        energies = np.empty(n)
        energies[ids - 1] = np.asarray(lmp.numpy.extract_compute("pa", 1, 1))[:n]
    finally:
        lmp.close()
    return energies


@pytest.fixture(scope="module")
def liquid():
    start = random_configuration(SYSTEM, 300, np.random.default_rng(17))
    return run_swap_mc(start, SYSTEM, SwapMCParameters(0.5), 200, seed=1).configuration


@pytest.mark.parametrize(
    ("interpolation", "points", "tolerance"), [("spline", 2000, 1e-7), ("linear", 2000, 1e-3), ("linear", 20000, 2e-5)]
)
def test_table_energies_agree_with_numpy_within_measured_error(liquid, tmp_path, interpolation, points, tolerance):
    block = pair_block(SYSTEM, "table", points, tmp_path / "pair.table", table_interpolation=interpolation)
    assert block.startswith(f"pair_style table {interpolation} {points}")
    table = _lammps_per_particle(liquid, block, tmp_path)
    exact = potential_energy(liquid, SYSTEM).per_particle
    error = np.abs(table - exact).max()
    assert error < tolerance
    if interpolation == "linear" and points == 2000:
        assert error > 1e-6  # linear interpolation is measurably worse than the spline


def test_default_table_is_linear_with_2000_points(tmp_path):
    assert pair_block(SYSTEM, "table", table_file=tmp_path / "t.table").startswith("pair_style table linear 2000")
    with pytest.raises(ValueError):
        pair_block(SYSTEM, "table", table_file=tmp_path / "t.table", table_interpolation="cubic")
