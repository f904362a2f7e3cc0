"""The LAMMPS quench protocol on tiny systems."""

import numpy as np
import pytest

from glass_core.models.energy import potential_energy
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.quench import PHASES, QuenchProtocol, QuenchResult, run_quench

FAST = QuenchProtocol(
    equilibration_time=1.0, cooling_rate=2.0, hold_time=4.0, thermostat_damping=0.2, thermo_interval=20
)


@pytest.fixture(scope="module")
def quench_pair(tmp_path_factory):
    system = get_system("kam")
    runs = [
        run_quench(system, 64, 0.4, seed, FAST, tmp_path_factory.mktemp(f"q{k}")) for k, seed in enumerate([5, 5, 6])
    ]
    return system, runs


@pytest.mark.lammps
def test_same_seed_gives_identical_quench(quench_pair):
    _, (a, b, c) = quench_pair
    assert np.array_equal(a.configuration.positions, b.configuration.positions)
    assert np.array_equal(a.configuration.types, b.configuration.types)
    assert a.lammps_energy == b.lammps_energy
    assert not np.array_equal(a.configuration.positions, c.configuration.positions)


@pytest.mark.lammps
def test_cooling_curve_follows_protocol(quench_pair):
    system, (a, _, _) = quench_pair
    steps = FAST.steps(system, 0.4)
    assert a.md_steps == sum(steps.values())
    thermo = a.thermo
    assert set(np.unique(thermo["phase"])) == {0, 1, 2}
    cool = thermo["phase"] == PHASES.index("cool")
    assert thermo["t_set"][cool][0] == pytest.approx(4.0, abs=0.05)
    assert thermo["t_set"][cool][-1] == pytest.approx(0.4, abs=0.05)
    assert np.all(np.diff(thermo["t_set"][cool]) <= 1e-12)
    assert a.hold_mean_temperature() == pytest.approx(0.4, rel=0.15)


@pytest.mark.lammps
def test_stored_configuration_energy_matches_numpy(quench_pair):
    system, (a, _, _) = quench_pair
    assert potential_energy(a.configuration, system).total == pytest.approx(a.lammps_energy, rel=1e-8)


@pytest.mark.lammps
def test_result_round_trips_through_npz(quench_pair, tmp_path):
    _, (a, _, _) = quench_pair
    back = QuenchResult.load(a.save(tmp_path / "r.npz"))
    assert np.array_equal(back.configuration.positions, a.configuration.positions)
    assert back.lammps_energy == a.lammps_energy
    assert np.array_equal(back.thermo["pe"], a.thermo["pe"])


def test_random_start_has_no_close_pairs_and_right_composition():
    system = get_system("abm")
    config = random_configuration(system, 200, np.random.default_rng(0), min_distance=0.6)
    delta = config.positions[:, None] - config.positions[None]
    delta = config.minimum_image(delta)
    r = np.sqrt((delta**2).sum(-1)) + np.eye(200) * 99
    assert r.min() >= 0.6
    assert np.bincount(config.types).tolist() == system.type_counts(200).tolist()


def test_negative_temperature_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        run_quench(get_system("abm"), 64, -1.0, 1, FAST, tmp_path)


@pytest.mark.lammps
def test_ternary_quench_runs_tabulated_and_reports_the_exact_energy(tmp_path):
    system = get_system("ka2d_ternary")
    assert FAST.resolved_pair_style(system) == "table"
    result = run_quench(system, 64, 0.5, 3, FAST, tmp_path)
    assert "pair_style table" in (tmp_path / "pair.lmp").read_text()
    # MD on the table, final energy from the exact C²-smooth form: it matches the numpy formula to 1e-8
    assert potential_energy(result.configuration, system).total == pytest.approx(result.lammps_energy, rel=1e-8)
    assert result.hold_mean_temperature() == pytest.approx(0.5, rel=0.2)
    with pytest.raises(ValueError, match="pair_style"):
        QuenchProtocol(pair_style="lepton")
