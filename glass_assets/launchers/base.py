"""The seam between assets and compute: :class:`SimulationLauncher` and what every launcher shares.

An asset hands a launcher one batch of items of one task kind (``quench``, ``swap_mc``, …) and a
scratch folder; the launcher runs the worker module (:data:`WORKER_MODULE`, ``python -m <module>
TASK.json``) on them, anywhere it likes, and returns the paths of the per-item result files the
worker wrote (atomically) into that folder. Progress comes back as worker events (JSON dicts such as
``{"event": "item_done", "item": {...}}``) and launcher events carrying a human ``message``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, Failure

from glass_assets.paths import REPO_ROOT

__all__ = [
    "REPO_ROOT",
    "WORKER_MODULE",
    "ProgressCallback",
    "SimulationError",
    "SimulationLauncher",
    "result_paths",
    "worker_environment",
]


#: The module every launcher runs as ``python -m WORKER_MODULE TASK.json`` (the one place to rename it).
WORKER_MODULE = "glass_core.tasks.worker"

ProgressCallback = Callable[[dict[str, Any]], None]


class SimulationError(Failure):
    """A simulation task failed; the message carries the worker's error.

    A Dagster ``Failure``: ``retryable`` (the default: a worker that was killed or crashed, a lost node) lets the
    asset's retry policy run the partition again, reusing the finished items; an error the worker raised
    itself (``retryable=False``) would recur, so the run fails at once with it.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(description=message, allow_retries=retryable)


class SimulationLauncher(ConfigurableResource):
    """Interface of a simulation backend: run a batch of items of one task kind, return their results."""

    def run_tasks(
        self,
        kind: str,
        params: dict[str, Any],
        items: list[dict[str, Any]],
        out_dir: Path,
        on_event: ProgressCallback | None = None,
    ) -> list[Path]:
        raise NotImplementedError


def result_paths(out_dir: Path, items: list[dict[str, Any]]) -> list[Path]:
    """Where the worker writes each item's result file, in item order."""
    from glass_core.files import item_result_path

    return [item_result_path(out_dir, item) for item in items]


def worker_environment() -> dict[str, str]:
    """The environment a worker runs in: this one, one thread per process, the repository importable."""
    return dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p),
    )
