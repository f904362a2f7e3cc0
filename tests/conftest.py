"""Shared fixtures: tiny profiles, throw-away warehouses and Dagster instances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glass_core.dynamics.propensity import PropensityLabels
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem

TESTS = Path(__file__).parent
TINY_PROFILES = TESTS / "tiny_profiles.yaml"


def jittered_lattice(system: ModelSystem, n_side: int, rng: np.random.Generator, jitter: float = 0.05) -> Configuration:
    """n_side² particles on a square lattice at the system density, slightly displaced, random types."""
    n = n_side * n_side
    length = system.box_length(n)
    grid = (np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side)), -1).reshape(-1, 2) + 0.5) * length / n_side
    types = np.repeat(np.arange(system.n_types), system.type_counts(n))
    rng.shuffle(types)
    return Configuration(grid + rng.normal(0, jitter, grid.shape), types, (length, length), system.name).wrapped()


def uniform_random_configuration(n: int, box: tuple[float, float], seed: int, n_types: int = 2) -> Configuration:
    """n points uniform in the box (overlaps allowed), types uniform in 0 … n_types − 1; no model system."""
    rng = np.random.default_rng(seed)
    return Configuration(rng.uniform(0, 1, (n, 2)) * np.asarray(box), rng.integers(0, n_types, n), box)


def triangular_lattice(nx: int, ny: int, a: float, offset: float = 0.1) -> Configuration:
    """nx × ny perfect triangular lattice of spacing a in a commensurate periodic box (ny even), one type."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    x = (i + 0.5 * (j % 2)) * a
    y = j * a * np.sqrt(3) / 2
    positions = np.stack([x.ravel(), y.ravel()], axis=1) + offset
    return Configuration(positions, np.zeros(nx * ny, int), (nx * a, ny * a * np.sqrt(3) / 2))


def tiny_study(tmp_path: Path, profile: str = "tiny"):  # noqa: ANN201 - a glass_assets StudySettings
    """Study settings of a profile of ``tests/tiny_profiles.yaml`` with scratch under ``tmp_path``."""
    from glass_assets.resources import StudySettings

    return StudySettings(profile=profile, profiles_file=str(TINY_PROFILES), scratch_dir=str(tmp_path / "scratch"))


@pytest.fixture
def one_torch_thread():
    """Tiny networks run faster on one thread, and far faster on a loaded 2-core machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_learning_resources(tiny_resources, tmp_path):
    """``tiny_resources`` with the ``tiny_learning`` profile (four labelled equilibria per temperature)."""
    return {**tiny_resources, "study": tiny_study(tmp_path, "tiny_learning")}


@pytest.fixture
def tiny_resources(tmp_path):
    """Resources for a tiny-profile materialization writing under ``tmp_path``."""
    from glass_assets.resources import LocalProcessLauncher, WarehouseResource
    from glass_assets.tracking import MLflowResource

    return {
        "study": tiny_study(tmp_path),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "mlflow_tracking": MLflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
        ),
    }


def labels_from(
    crsd: np.ndarray,
    bond_breaking: np.ndarray,
    *,
    n_bonds: int,
    box: tuple[float, float],
    system: str,
    temperature: float,
) -> PropensityLabels:
    """Crafted isoconfigurational labels: frames at t = 0, 1, 2, … (100 steps apart), two identical replica halves."""
    n_frames, n = crsd.shape
    return PropensityLabels(
        steps=np.arange(n_frames) * 100,
        times=np.arange(n_frames, dtype=np.float64),
        crsd=crsd,
        bond_breaking=bond_breaking,
        crsd_halves=np.stack([crsd, crsd]).astype(np.float32),
        bond_breaking_halves=np.stack([bond_breaking, bond_breaking]).astype(np.float32),
        n_bonds=np.full(n, n_bonds),
        n_replicas=2,
        types=np.zeros(n, dtype=int),
        box=box,
        system=system,
        temperature=temperature,
    )
