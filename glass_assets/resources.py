"""Resources: the study settings, the simulation launcher and the warehouse.

Assets never run LAMMPS or Monte Carlo in the orchestrator's process: they hand tasks to the
``simulation`` resource. :class:`LocalProcessLauncher` runs them as worker processes on this machine
(``python -m glass_core.simulation.worker``), one per core; a cluster launcher (Slurm through Dagster Pipes) can
replace it in ``definitions.py`` without changing any asset, as long as it implements
:meth:`SimulationLauncher.run_tasks`.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar

from glass_assets.profiles import PROFILES_FILE, Profile, load_profile
from glass_assets.warehouse import Warehouse

__all__ = [
    "LocalProcessLauncher",
    "SimulationError",
    "SimulationLauncher",
    "StudySettings",
    "WarehouseResource",
    "progress_logger",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


class SimulationError(RuntimeError):
    """A simulation task failed; the message carries the worker's error."""


class StudySettings(ConfigurableResource):
    """Which profile the study runs with (``demo`` by default), and where scratch files go."""

    profile: str = "demo"
    profiles_file: str = str(PROFILES_FILE)
    scratch_dir: str = str(REPO_ROOT / "data" / "scratch")

    def load(self) -> Profile:
        return load_profile(self.profile, Path(self.profiles_file))

    def scratch_folder(self, asset_name: str, system: str, temperature: float, inputs: object) -> Path:
        """Worker scratch for one partition, named by a hash of its inputs: a rerun after a crash finds
        and reuses the items that had finished, a changed input starts afresh."""
        fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return Path(self.scratch_dir) / asset_name / f"{system}_T{temperature!r}_{fingerprint}"

    def plot_path(self, asset_name: str, name: str) -> Path:
        """Where an asset's figure goes: ``data/plots/<asset>/<name>`` beside the scratch folder."""
        return Path(self.scratch_dir).parent / "plots" / asset_name / name


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file (default ``data/warehouse.duckdb``)."""

    path: str = str(REPO_ROOT / "data" / "warehouse.duckdb")

    def get(self) -> Warehouse:
        return Warehouse(self.path)


ProgressCallback = Callable[[dict[str, Any]], None]


def progress_logger(log: Any, total: int, what: str) -> ProgressCallback:
    """A launcher callback that logs '<what> k/total done' per finished item (with its rate or
    acceptance when the worker reports one) and each failure with its error."""
    done = 0

    def report(event: dict[str, Any]) -> None:
        nonlocal done
        if event.get("event") in {"item_done", "item_skipped"}:
            done += 1
            detail = ""
            if event.get("steps_per_second"):
                detail = f" ({event['steps_per_second']:,.0f} steps/s)"
            elif event.get("acceptance"):
                detail = f" (acceptance {event['acceptance']})"
            log.info(f"{what} {done}/{total} done{detail}")
        elif event.get("event") == "item_failed":
            log.error(f"{what} {event.get('item')} failed: {event.get('error')}")

    return report


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


class LocalProcessLauncher(SimulationLauncher):
    """Runs simulation items in ``max_workers`` local worker processes (default: one per core).

    Items are dealt round-robin to the workers; each worker writes one result file per item. Result
    files that already exist (from an interrupted earlier run with the same parameters) are reused.
    """

    max_workers: int = 0
    python_executable: str = sys.executable

    def workers(self, n_items: int) -> int:
        wanted = self.max_workers or os.cpu_count() or 1
        return max(1, min(wanted, n_items))

    def run_tasks(
        self,
        kind: str,
        params: dict[str, Any],
        items: list[dict[str, Any]],
        out_dir: Path,
        on_event: ProgressCallback | None = None,
    ) -> list[Path]:
        from glass_core.simulation.tasks import item_result_path

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        n_workers = self.workers(len(items))
        events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        processes = []
        for w in range(n_workers):
            task = {"kind": kind, "params": params, "items": items[w::n_workers], "out_dir": str(out_dir)}
            task_file = out_dir / f"task_{w}.json"
            task_file.write_text(json.dumps(task))
            processes.append(self._start(task_file, events))
        failures = self._collect(events, n_workers, on_event)
        codes = [p.wait() for p in processes]
        if failures:
            first = failures[0]
            raise SimulationError(
                f"{len(failures)} of {len(items)} {kind} items failed; "
                f"first ({first.get('item')}): {first.get('error')}"
            )
        if any(codes):
            raise SimulationError(f"a {kind} worker exited with status {max(codes)} (see {out_dir}/worker_*.log)")
        missing = [item for item in items if not item_result_path(out_dir, item).exists()]
        if missing:
            raise SimulationError(f"{len(missing)} {kind} items produced no result file, e.g. {missing[0]}")
        return [item_result_path(out_dir, item) for item in items]

    def _start(self, task_file: Path, events: queue.Queue) -> subprocess.Popen:
        env = dict(
            os.environ,
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        stderr = open(task_file.with_name(task_file.stem.replace("task", "worker") + ".log"), "w")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [self.python_executable, "-m", "glass_core.simulation.worker", str(task_file)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
            )
        except OSError as error:
            raise SimulationError(f"cannot start a worker with {self.python_executable}: {error}") from error
        finally:
            stderr.close()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                try:
                    events.put(json.loads(line))
                except json.JSONDecodeError:
                    events.put({"event": "output", "text": line.rstrip()})
            events.put(None)

        threading.Thread(target=pump, daemon=True).start()
        return process

    @staticmethod
    def _collect(events: queue.Queue, n_workers: int, on_event: ProgressCallback | None) -> list[dict[str, Any]]:
        finished, failures = 0, []
        started = time.perf_counter()
        while finished < n_workers:
            event = events.get()
            if event is None:
                finished += 1
                continue
            event.setdefault("elapsed", time.perf_counter() - started)
            if event.get("event") == "item_failed":
                failures.append(event)
            if on_event:
                on_event(event)
        return failures


def default_resources() -> dict[str, ConfigurableResource]:
    """The resources of the local platform; ``GLASS_PROFILE`` / ``GLASS_WAREHOUSE`` override defaults."""
    settings = StudySettings(profile=EnvVar("GLASS_PROFILE")) if os.environ.get("GLASS_PROFILE") else StudySettings()
    warehouse = (
        WarehouseResource(path=EnvVar("GLASS_WAREHOUSE")) if os.environ.get("GLASS_WAREHOUSE") else WarehouseResource()
    )
    from glass_assets.tracking import MLflowResource

    tracking = (
        MLflowResource(tracking_uri=EnvVar("MLFLOW_TRACKING_URI"))
        if os.environ.get("MLFLOW_TRACKING_URI")
        else (MLflowResource())
    )
    return {
        "study": settings,
        "simulation": LocalProcessLauncher(),
        "warehouse": warehouse,
        "mlflow_tracking": tracking,
    }
