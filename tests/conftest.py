"""Shared fixtures: tiny profiles, throw-away warehouses and Dagster instances (the builders: ``tests/helpers``).

At the root of ``tests/`` so that every tier (``core/``, ``assets/``, ``platform/``) sees them.
"""

from __future__ import annotations

import pytest

from tests.helpers.studies import tiny_study

#: the longest files, longest first: with ``-n 2 --dist loadfile`` (scripts/test.sh) the daemon tests (ten minutes,
#: mostly waiting on ticks) run beside the rest, and the short files fill the end of both workers
LONGEST_FIRST = (
    "tests/platform/test_daemon.py",
    "tests/platform/test_provenance.py",
    "tests/platform/test_ui_browser.py",
    "tests/assets/liquid_glass/test_liquid_glass_assets.py",
    "tests/assets/propensity_learning/test_propensity_learning_assets.py",
    "tests/assets/cooling_rate/test_cooling_rate_study.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((k for k, path in enumerate(LONGEST_FIRST) if item.nodeid.startswith(path)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


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
    from glass_assets.registry.tracking import MLflowResource
    from glass_assets.resources import LocalProcessLauncher, WarehouseResource

    return {
        "study": tiny_study(tmp_path),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "mlflow_tracking": MLflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
        ),
    }
