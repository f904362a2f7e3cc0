"""GlassBench loader on crafted files with GlassBench's keys, and the bond-breaking propensity of a
sample with a known answer (one particle leaves its cage in half of the replicas)."""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.dynamics.glassbench import (
    GlassBenchFormatError,
    glassbench_bond_breaking,
    glassbench_time,
    load_glassbench_file,
)
from glass_core.models.systems import get_system

TERNARY = get_system("ka2d_ternary")
BOX = np.array([6.0, 5.0])
MOVER = 29  # lattice site (5, 4): the top-right corner, so its jump crosses both box edges
JUMP = np.array([2.5, 2.0])


def crafted_arrays(n_replicas: int = 4) -> dict[str, np.ndarray]:
    """30 particles on a 6 × 5 square lattice of spacing 1 in [−L/2, L/2) (the T = 0.30 files' frame).

    Every nearest-neighbour pair (r = 1) is a bond for all σ_ij ≥ 0.8 (1 < 1.4 × 0.8); diagonals
    (r = √2 > 1.4) are not: each particle has 4 bonds. Replicas 0 and 1 move ``MOVER`` by (2.5, 2.0),
    breaking its 4 bonds; all replicas add 0.01 noise. Positions are stored wrapped.
    """
    ij = np.stack(np.meshgrid(np.arange(6), np.arange(5), indexing="ij"), -1).reshape(-1, 2)
    start = ij + 0.5 - BOX / 2
    types = np.random.default_rng(0).integers(1, 4, size=30)
    rng = np.random.default_rng(1)
    replicas = start[None] + rng.uniform(-0.01, 0.01, (n_replicas, 30, 2))
    replicas[:2, MOVER] += JUMP
    wrapped = (replicas + BOX / 2) % BOX - BOX / 2
    return {
        "positions": wrapped,
        "initial_positions": start,
        "initial_positions_inherent": start + 0.001,
        "types": types.astype(np.int64),
        "box": BOX,
        "temperature": np.asarray("0.30"),
        "system_id": np.asarray("KA2D"),
        "first_npz_member": np.asarray("T0.30/train/N1290T0.30_3_tc04.npz"),
    }


def write(tmp_path, arrays, name="sample.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_loads_configurations_time_and_temperature(tmp_path):
    sample = load_glassbench_file(write(tmp_path, crafted_arrays()))
    assert sample.n_replicas == 4 and sample.replica_positions.shape == (4, 30, 2)
    assert sample.time == pytest.approx(158.74) and sample.temperature == pytest.approx(0.30)
    assert sample.equilibrium.system == "ka2d_ternary" and sample.equilibrium.box == (6.0, 5.0)
    assert sample.equilibrium.types.min() >= 0 and sample.equilibrium.types.max() <= 2  # 0-based
    assert np.all((sample.equilibrium.positions >= 0) & (sample.equilibrium.positions < BOX))  # wrapped
    assert sample.inherent is not None
    shift = sample.inherent.minimum_image(sample.inherent.positions - sample.equilibrium.positions)
    np.testing.assert_allclose(shift, 0.001, atol=1e-12)


def test_unwrapping_recovers_the_jump_across_the_box_edge(tmp_path):
    sample = load_glassbench_file(write(tmp_path, crafted_arrays()))
    stored = sample.replica_positions[0, MOVER] - sample.initial_positions[MOVER]
    assert np.abs(stored).max() > 3.0  # the stored position wrapped around (beyond L/2 from the start)
    displacement = sample.unwrapped_replicas() - sample.initial_positions[None]
    np.testing.assert_allclose(displacement[:2, MOVER], np.tile(JUMP, (2, 1)), atol=0.011)
    assert np.abs(displacement).max() < 2.5 + 0.011


def test_bond_breaking_of_the_moved_particle_and_its_neighbours(tmp_path):
    arrays = crafted_arrays()
    propensity = glassbench_bond_breaking(load_glassbench_file(write(tmp_path, arrays)), TERNARY)
    neighbours = [24, 28]  # sites (4, 4) and (5, 3); across the edges: (0, 4) = 4 and (5, 0) = 25
    neighbours += [4, 25]
    expected = np.ones(30)
    expected[MOVER] = 0.5  # all 4 bonds broken in 2 of 4 replicas
    expected[neighbours] = (0.75 + 0.75 + 1 + 1) / 4  # one of 4 bonds broken in 2 of 4 replicas
    np.testing.assert_allclose(propensity, expected, atol=1e-12)


def test_bond_breaking_does_not_depend_on_how_positions_are_wrapped(tmp_path):
    arrays = crafted_arrays()
    wrapped = glassbench_bond_breaking(load_glassbench_file(write(tmp_path, arrays, "a.npz")), TERNARY)
    shifted = dict(arrays, positions=arrays["positions"] + 3 * BOX, initial_positions=arrays["initial_positions"] - BOX)
    moved_frames = glassbench_bond_breaking(load_glassbench_file(write(tmp_path, shifted, "b.npz")), TERNARY)
    np.testing.assert_allclose(moved_frames, wrapped, atol=1e-12)


def test_missing_inherent_structure_and_unknown_time(tmp_path):
    arrays = dict(crafted_arrays(), initial_positions_inherent=np.zeros(0))
    del arrays["first_npz_member"]
    sample = load_glassbench_file(write(tmp_path, arrays, "N1290T0.30_3_tc99.npz"))
    assert sample.inherent is None and sample.time is None
    named = load_glassbench_file(write(tmp_path, arrays, "N1290T0.30_3_tc06.npz"))
    assert named.time == pytest.approx(20000.0)  # the code is read from the file name


def test_glassbench_time_table():
    assert glassbench_time("0.23", "T0.23/test/N1290T0.23_151_tc40.npz") == pytest.approx(1.5e6)
    assert glassbench_time(0.3, "x_tc05.npz") == pytest.approx(1781.79)
    assert glassbench_time(0.5, "x_tc05.npz") is None


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"positions": np.zeros((4, 29, 2))}, "positions"),
        ({"positions": np.zeros((30, 2))}, "positions"),
        ({"initial_positions": np.zeros((30, 3))}, "initial_positions"),
        ({"initial_positions_inherent": np.zeros((29, 2))}, "initial_positions_inherent"),
        ({"types": np.arange(30) % 3}, "types"),  # 0-based: GlassBench counts from 1
        ({"types": np.full(30, 1.0)}, "types"),
        ({"box": np.asarray(-1.0)}, "box"),
        ({"temperature": np.asarray("hot")}, "temperature"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, change, key):
    path = write(tmp_path, dict(crafted_arrays(), **change), "bad.npz")
    with pytest.raises(GlassBenchFormatError, match=key) as error:
        load_glassbench_file(path)
    assert "bad.npz" in str(error.value)


def test_missing_key_is_named(tmp_path):
    arrays = crafted_arrays()
    del arrays["types"]
    with pytest.raises(GlassBenchFormatError, match="missing key 'types'"):
        load_glassbench_file(write(tmp_path, arrays))
