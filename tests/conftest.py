"""Shared fixtures: tiny profiles, throw-away warehouses and Dagster instances (the builders: ``tests/helpers``).

At the root of ``tests/`` so that every tier (``core/``, ``assets/``, ``platform/``) sees them.
"""

from __future__ import annotations

import pytest

from tests.helpers.studies import tiny_study


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
