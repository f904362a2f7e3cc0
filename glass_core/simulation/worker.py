"""Simulation worker: runs one task file in its own process, ``python -m glass_core.simulation.worker TASK.json``.

The orchestrator never runs LAMMPS itself: it writes a task (what to simulate, with which seeds, where
to put results), launches this worker locally or on a cluster, and reads the result files back. A task
is JSON::

    {"kind": "quench", "out_dir": "...", "params": {...}, "items": [{"sample": 0, "seed": 123}, ...]}

The worker is a thin dispatcher: :data:`TASK_KINDS` maps each kind to the task function of the module
that owns the physics (:func:`~.quench.quench_item`, :func:`~.isoconfigurational.isoconfigurational_item`,
:func:`~.swap_monte_carlo.swap_mc_item`, :func:`~.inherent_structures.minimise_item`,
:func:`~.tiled_equilibration.tiled_swap_mc_item`). Each finished item
is written to ``out_dir/<item name>.npz`` atomically (:mod:`.tasks`), and one JSON line per event is
printed to stdout (``{"event": "item_done", ...}``) so the launcher can report progress. Items whose
result file already exists are skipped, so a relaunched task resumes instead of starting over.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from glass_core.simulation.inherent_structures import minimise_item
from glass_core.simulation.isoconfigurational import isoconfigurational_item
from glass_core.simulation.quench import quench_item
from glass_core.simulation.swap_monte_carlo import swap_mc_item
from glass_core.simulation.tasks import TaskFunction, item_result_path
from glass_core.simulation.tiled_equilibration import tiled_swap_mc_item

__all__ = ["TASK_KINDS", "main", "run_task"]

#: Task kinds a worker can run; later studies register theirs here.
TASK_KINDS: dict[str, TaskFunction] = {
    "quench": quench_item,
    "isoconfigurational": isoconfigurational_item,
    "swap_mc": swap_mc_item,
    "minimise": minimise_item,
    "tiled_swap_mc": tiled_swap_mc_item,
}


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def run_task(task: dict[str, Any]) -> int:
    """Run every item of ``task``; return the number of items that failed."""
    kind = task["kind"]
    if kind not in TASK_KINDS:
        raise ValueError(f"unknown task kind {kind!r}; known: {sorted(TASK_KINDS)}")
    out_dir = Path(task["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
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
        _emit("item_done", item=item, seconds=time.perf_counter() - clock, **info)
    return failures


def main(argv: list[str]) -> int:
    """``python -m glass_core.simulation.worker TASK.json``: 0 if every item succeeded, 1 if any failed, 2 on usage."""
    if len(argv) != 2:
        print("usage: python -m glass_core.simulation.worker TASK.json", file=sys.stderr)
        return 2
    task = json.loads(Path(argv[1]).read_text())
    return 1 if run_task(task) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
