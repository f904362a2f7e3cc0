import numpy as np
import pytest

from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from tests.helpers.configurations import gaussian_jittered_lattice


def test_lammps_data_round_trip_is_exact(tmp_path):
    config = gaussian_jittered_lattice(get_system("ka2d_ternary"), 8, np.random.default_rng(0))
    path = config.write(tmp_path / "c.data", ("A", "B", "C"))
    back = Configuration.read_lammps_data(path)
    assert np.array_equal(back.positions, config.positions)
    assert np.array_equal(back.types, config.types)
    assert back.box == config.box


def test_extxyz_has_lattice_and_species(tmp_path):
    config = gaussian_jittered_lattice(get_system("abm"), 4, np.random.default_rng(1))
    lines = config.write(tmp_path / "c.xyz", ("A", "B")).read_text().splitlines()
    assert lines[0] == "16"
    assert 'Lattice="' in lines[1] and "pbc=" in lines[1]
    assert {line.split()[0] for line in lines[2:]} == {"A", "B"}


def test_wrapping_and_minimum_image():
    config = Configuration(np.array([[-0.5, 10.5], [3.0, 4.0]]), np.array([0, 1]), (10.0, 10.0))
    wrapped = config.wrapped()
    assert np.allclose(wrapped.positions, [[9.5, 0.5], [3.0, 4.0]])
    assert np.allclose(config.minimum_image(np.array([9.0, -6.0])), [-1.0, 4.0])


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="positions"):
        Configuration(np.zeros((3, 3)), np.zeros(3), (1.0, 1.0))
    with pytest.raises(ValueError, match="types"):
        Configuration(np.zeros((3, 2)), np.zeros(2), (1.0, 1.0))
    with pytest.raises(ValueError, match="unknown configuration format"):
        Configuration(np.zeros((1, 2)), np.zeros(1), (1.0, 1.0)).write("x.pdb")
