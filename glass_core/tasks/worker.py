"""Worker: runs one task file in its own process, ``python -m glass_core.tasks.worker TASK.json``.

The orchestrator never runs LAMMPS or trains a network itself: it writes a task (what to simulate or train, with
which seeds, where to put results), launches this worker locally or on a cluster, and reads the result files back.
A task is JSON::

    {"kind": "quench", "out_dir": "...", "params": {...}, "items": [{"sample": 0, "seed": 123}, ...]}

The worker is a thin dispatcher: :data:`TASK_KINDS` maps each kind to the task function of the module
that owns the physics (:func:`~.quench.quench_item`, :func:`~.isoconfigurational.isoconfigurational_item`,
:func:`~.swap_monte_carlo.swap_mc_item`, :func:`~.inherent_structures.minimise_item`,
:func:`~.tiled_equilibration.tiled_swap_mc_item`, and the network trainings of
:func:`glass_core.learning.training_task.training_item`, imported only by a task that trains). Each finished item
is written to ``out_dir/<item name>.npz`` atomically (:func:`glass_core.files.item_result_path`), and one JSON line
per event is printed to stdout (``{"event": "item_done", ...}``) so the launcher can report progress. Items whose
result file already exists are skipped, so a relaunched task resumes instead of starting over. The last line is the
task's own resource use, ``{"event": "task_usage", "wall_s", "cpu_s", "peak_rss_mb", "gpu_s", ...}``, which the
launchers add to the asset's compute accounting.

This layer sits above :mod:`glass_core.simulation` and :mod:`glass_core.learning`: it is the one place that knows
both kinds of task.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glass_core.files import item_result_path

__all__ = ["TASK_KINDS", "TaskFunction", "main", "run_task", "task_usage"]

#: A task function: (task params, one item, out_dir) → JSON-able info for the item_done event.
TaskFunction = Callable[[dict[str, Any], dict[str, Any], Path], dict[str, Any]]


def _imported_on_use(module: str, name: str) -> TaskFunction:
    """The task function ``module.name``, imported when a task of its kind runs: a worker process imports only what
    its task needs (LAMMPS for a quench, numba for swap MC, torch for a training), which saves seconds per process."""

    def run(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
        return getattr(importlib.import_module(module), name)(params, item, out_dir)

    run.__name__ = run.__qualname__ = name
    return run


TASK_KINDS: dict[str, TaskFunction] = {
    "quench": _imported_on_use("glass_core.simulation.quench", "quench_item"),
    "isoconfigurational": _imported_on_use("glass_core.simulation.isoconfigurational", "isoconfigurational_item"),
    "swap_mc": _imported_on_use("glass_core.simulation.swap_monte_carlo", "swap_mc_item"),
    "minimise": _imported_on_use("glass_core.simulation.inherent_structures", "minimise_item"),
    "tiled_swap_mc": _imported_on_use("glass_core.simulation.tiled_equilibration", "tiled_swap_mc_item"),
    "training": _imported_on_use("glass_core.learning.training_task", "training_item"),
}


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def process_wall_seconds() -> float | None:
    """Seconds since this process started (Linux ``/proc``), interpreter start-up and imports included."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(uptime - ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


def peak_resident_megabytes() -> float:
    """This process's peak resident memory in MiB: ``VmHWM`` of ``/proc/self/status`` (Linux), which starts afresh at
    ``exec``; else ``getrusage``'s ``ru_maxrss``, which on Linux also counts the parent's memory at ``fork``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_usage(
    kind: str, n_items: int, gpu_seconds: float, device: str, started: float, cpus: int = 1
) -> dict[str, Any]:
    """This process's resource use (``getrusage``): wall, CPU (user + system) and peak resident memory; ``cpus`` are
    the threads it was given (1 for a simulation, the torch threads of a training)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = process_wall_seconds()
    return {
        "kind": kind,
        "n_items": n_items,
        "wall_s": wall if wall is not None else time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak_resident_megabytes(),
        "gpu_s": gpu_seconds,
        "device": device,
        "cpus": cpus,
    }


def run_task(task: dict[str, Any]) -> int:
    """Run every item of ``task``; return the number of items that failed."""
    kind = task["kind"]
    if kind not in TASK_KINDS:
        raise ValueError(f"unknown task kind {kind!r}; known: {sorted(TASK_KINDS)}")
    out_dir = Path(task["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    failures, gpu_seconds, device, started, n_run, cpus = 0, 0.0, "cpu", time.perf_counter(), 0, 1
    for item in task["items"]:
        if item_result_path(out_dir, item).exists():
            _emit("item_skipped", item=item)
            continue
        clock = time.perf_counter()
        try:
            info = TASK_KINDS[kind](task["params"], item, out_dir)
        except Exception as error:  # report and go on: the launcher decides what a failure means
            failures += 1
            _emit("item_failed", item=item, error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
            continue
        n_run += 1
        gpu_seconds += float(info.get("gpu_seconds", 0.0))
        device = str(info.get("device", device))
        cpus = max(cpus, int(info.get("threads", 1)))
        _emit("item_done", item=item, seconds=time.perf_counter() - clock, **info)
    _emit("task_usage", **task_usage(kind, n_run, gpu_seconds, device, started, cpus))
    return failures


def main(argv: list[str]) -> int:
    """``python -m glass_core.tasks.worker TASK.json``: 0 if every item succeeded, 1 if any failed, 2 on usage."""
    if len(argv) != 2:
        print("usage: python -m glass_core.tasks.worker TASK.json", file=sys.stderr)
        return 2
    task = json.loads(Path(argv[1]).read_text())
    return 1 if run_task(task) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
