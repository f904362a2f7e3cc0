"""Isoconfigurational LAMMPS replicas on a tiny quenched system, and the worker item that labels them."""

import subprocess

import numpy as np
import pytest

from glass_core.dynamics.propensity import PropensityLabels, propensity_labels
from glass_core.files import item_result_path
from glass_core.models.configuration import Configuration, load_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.isoconfigurational import (
    IsoconfigurationalProtocol,
    IsoconfigurationalTrajectories,
    isoconfigurational_item,
    log_spaced_steps,
    read_frame,
    replica_seeds,
    replica_variables,
    run_isoconfigurational,
    write_replica_inputs,
)
from glass_core.simulation.lammps_driver import lammps_command, lammps_environment
from glass_core.simulation.quench import QuenchProtocol, run_quench
from tests.helpers.configurations import gaussian_jittered_lattice

KAM = get_system("kam")
T_RUN = 1.0
STEPS = tuple(int(s) for s in log_spaced_steps(400, per_decade=5))
PROTOCOL = IsoconfigurationalProtocol(temperature=T_RUN, n_replicas=3, steps=STEPS, thermostat_damping=0.2)
SEEDS = replica_seeds("kam", T_RUN, 0, 11, 3)


@pytest.fixture(scope="module")
def quenched(tmp_path_factory):
    """A 64-particle kam configuration quenched to T = 0.4 (the start of every ensemble here)."""
    fast = QuenchProtocol(equilibration_time=1.0, cooling_rate=2.0, hold_time=2.0, thermostat_damping=0.2)
    result = run_quench(KAM, 64, 0.4, 5, fast, tmp_path_factory.mktemp("quench"))
    path = result.save(tmp_path_factory.mktemp("start") / "sample_000000.npz")
    return result.configuration, path


@pytest.fixture(scope="module")
def ensemble(quenched, tmp_path_factory):
    config, _ = quenched
    return run_isoconfigurational(config, KAM, PROTOCOL, SEEDS, tmp_path_factory.mktemp("iso"))


@pytest.mark.lammps
def test_replicas_share_the_start_and_differ_by_velocities(quenched, ensemble):
    config, _ = quenched
    positions = ensemble.positions
    assert positions.shape == (3, len(STEPS), 64, 2)
    for replica in positions:
        assert np.array_equal(replica[0], config.positions)  # bit for bit, unwrapped frame 0 = the data file
    first_moves = positions[:, 1] - positions[:, 0]
    assert not np.allclose(first_moves[0], first_moves[1]) and not np.allclose(first_moves[1], first_moves[2])
    assert np.array_equal(ensemble.types, config.types) and ensemble.box == config.box
    assert np.array_equal(ensemble.steps, STEPS)
    np.testing.assert_allclose(ensemble.times, np.asarray(STEPS) * KAM.md_timestep)
    assert ensemble.md_steps == 3 * 400 and len(set(ensemble.seeds.tolist())) == 3


@pytest.mark.lammps
def test_positions_are_unwrapped_and_continuous(ensemble):
    step_moves = np.abs(np.diff(ensemble.positions, axis=1))
    assert step_moves.max() < 1.0  # no jumps by a box length between frames
    assert ensemble.positions.min() < 0 or ensemble.positions.max() > ensemble.box[0]  # left the box


@pytest.mark.lammps
def test_nose_hoover_holds_the_run_temperature(ensemble):
    temperature = ensemble.thermo[:, :, 0]
    assert temperature[:, 0] == pytest.approx(T_RUN, rel=1e-9)  # velocity create rescales exactly
    assert temperature[:, len(STEPS) // 2 :].mean() == pytest.approx(T_RUN, rel=0.15)


@pytest.mark.lammps
def test_same_seeds_give_identical_trajectories_and_labels(quenched, ensemble, tmp_path):
    config, _ = quenched
    again = run_isoconfigurational(config, KAM, PROTOCOL, SEEDS, tmp_path)
    assert np.array_equal(again.positions, ensemble.positions)
    first, second = propensity_labels(ensemble, KAM), propensity_labels(again, KAM)
    assert np.array_equal(first.crsd, second.crsd)
    assert np.array_equal(first.bond_breaking, second.bond_breaking, equal_nan=True)


@pytest.mark.lammps
def test_frames_do_not_perturb_the_trajectory(quenched, ensemble, tmp_path):
    config, _ = quenched
    single = IsoconfigurationalProtocol(T_RUN, 1, (400,), thermostat_damping=0.2)
    straight = run_isoconfigurational(config, KAM, single, SEEDS[:1], tmp_path)
    assert np.array_equal(straight.positions[0, -1], ensemble.positions[0, -1])


@pytest.mark.lammps
def test_labels_of_a_hot_run_are_physical(ensemble):
    labels = propensity_labels(ensemble, KAM)
    cb = labels.bond_breaking
    assert np.all((cb >= 0) & (cb <= 1))
    assert np.all(cb[0] == 1.0) and np.all(labels.crsd[0] == 0.0)
    mean_cb = labels.mean_bond_breaking
    assert mean_cb[-1] < 0.97  # bonds break within 2 time units at T = 1.0
    assert np.all(np.diff(mean_cb) <= 0.02)  # non-increasing up to replica noise
    clock = labels.cage_clock
    assert np.all(np.diff(clock) >= -1e-3) and clock[-1] > 0.1
    assert labels.tau_alpha is None or labels.tau_alpha <= ensemble.times[-1]


@pytest.mark.lammps
def test_nve_conserves_energy(quenched, tmp_path):
    config, _ = quenched
    nve = IsoconfigurationalProtocol(T_RUN, 1, STEPS, ensemble="nve")
    run = run_isoconfigurational(config, KAM, nve, SEEDS[:1], tmp_path)
    total = run.thermo[0, :, 2]
    assert np.max(np.abs(total - total[0])) < 2e-3


@pytest.mark.lammps
def test_ternary_system_runs_with_a_tabulated_potential(tmp_path):
    system = get_system("ka2d_ternary")
    config = gaussian_jittered_lattice(system, 8, np.random.default_rng(1), jitter=0.02)
    protocol = IsoconfigurationalProtocol(0.5, 1, (10, 50))
    assert protocol.resolved_pair_style(system) == "table"
    run = run_isoconfigurational(config, system, protocol, [3], tmp_path)
    assert run.positions.shape == (1, 3, 64, 2) and np.all(np.isfinite(run.positions))
    assert "pair_style table" in (tmp_path / "pair.lmp").read_text()


@pytest.mark.lammps
def test_worker_item_writes_only_labels(quenched, ensemble, tmp_path):
    config, start_file = quenched
    params = {
        "system": "kam",
        "temperature": T_RUN,
        "n_replicas": 3,
        "steps": list(STEPS),
        "thermostat_damping": 0.2,
        "base_seed": 11,
    }
    item = {"sample": 0, "configuration": str(start_file)}
    info = isoconfigurational_item(params, item, tmp_path)
    assert info["md_steps"] == 3 * 400 and info["n_replicas"] == 3
    assert info["steps_per_second"] == pytest.approx(info["md_steps"] / info["wall_seconds"])
    assert 0 < info["md_wall_seconds"] <= info["wall_seconds"]
    result = item_result_path(tmp_path, item)
    assert result.name == "sample_000000.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample_000000.npz", "work"]
    assert not list((tmp_path / "work").rglob("frame_*.bin"))  # trajectories stay out
    with np.load(result) as data:
        assert "positions" not in data.files
    labels = PropensityLabels.load(result)
    direct = propensity_labels(ensemble, KAM)  # same configuration, same derived seeds
    assert np.array_equal(labels.crsd, direct.crsd)
    assert np.array_equal(labels.bond_breaking, direct.bond_breaking, equal_nan=True)
    assert labels.n_replicas == 3 and labels.temperature == T_RUN
    assert labels.metadata["sample"] == 0 and labels.metadata["seeds"] == list(SEEDS)


@pytest.mark.lammps
def test_trajectories_round_trip(ensemble, tmp_path):
    back = IsoconfigurationalTrajectories.load(ensemble.save(tmp_path / "t.npz"))
    assert np.array_equal(back.positions, ensemble.positions)
    assert np.array_equal(back.seeds, ensemble.seeds) and back.box == ensemble.box
    assert back.md_steps == ensemble.md_steps
    assert back.metadata["protocol"]["steps"] == list(STEPS)


def test_configurations_load_from_npz_and_lammps_data(quenched, tmp_path):
    config, start_file = quenched
    from_npz = load_configuration(start_file)
    assert np.array_equal(from_npz.positions, config.positions) and from_npz.system == "kam"
    from_data = load_configuration(config.write(tmp_path / "c.data", KAM.type_names), "kam")
    assert np.array_equal(from_data.positions, config.positions)
    stack = tmp_path / "stack.npz"
    np.savez(stack, positions=np.stack([config.positions, config.positions + 0.1]), types=config.types, box=config.box)
    assert np.allclose(
        load_configuration(stack, "kam", frame=1).positions,
        Configuration(config.positions + 0.1, config.types, config.box).wrapped().positions,
    )
    with pytest.raises(ValueError, match="frame"):
        load_configuration(stack)


def test_protocol_and_steps_are_validated():
    steps = log_spaced_steps(10_000, per_decade=4)
    assert steps[0] == 0 and steps[-1] == 10_000 and np.all(np.diff(steps) > 0)
    assert steps.tolist()[:6] == [0, 1, 2, 3, 6, 10]
    assert IsoconfigurationalProtocol(0.5, 2, (10, 20)).steps == (0, 10, 20)
    with pytest.raises(ValueError, match="increasing"):
        IsoconfigurationalProtocol(0.5, 2, (0, 20, 20))
    with pytest.raises(ValueError, match="ensemble"):
        IsoconfigurationalProtocol(0.5, 2, (10,), ensemble="npt")
    with pytest.raises(ValueError, match="positive"):
        IsoconfigurationalProtocol(-0.5, 2, (10,))
    assert replica_seeds("kam", 0.5, 3, 7, 4) == replica_seeds("kam", 0.50, 3, 7, 4)
    assert len(set(replica_seeds("kam", 0.5, 3, 7, 30))) == 30


@pytest.mark.lammps
def test_the_template_by_hand_gives_the_same_frames(quenched, ensemble, tmp_path):
    config, _ = quenched
    inputs = write_replica_inputs(config, KAM, PROTOCOL, tmp_path)
    variables = replica_variables(inputs, KAM, PROTOCOL, SEEDS[1], tmp_path)
    command = lammps_command("isoconfigurational.lmp", variables, tmp_path / "log.lammps")
    subprocess.run(command, env=lammps_environment(), check=True, capture_output=True)
    assert np.array_equal(read_frame(tmp_path / f"frame_{STEPS[-1]}.bin", 64), ensemble.positions[1, -1])
