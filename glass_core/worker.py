"""Simulation worker: runs one task file in its own process, ``python -m glass_core.worker TASK.json``.

The orchestrator never runs LAMMPS itself: it writes a task (what to simulate, with which seeds, where
to put results), launches this worker locally or on a cluster, and reads the result files back. A task
is JSON::

    {"kind": "quench", "out_dir": "...", "params": {...}, "items": [{"sample": 0, "seed": 123}, ...]}

Each finished item is written to ``out_dir/<item name>.npz`` atomically, and one JSON line per event
is printed to stdout (``{"event": "item_done", ...}``) so the launcher can report progress. Items whose
result file already exists are skipped, so a relaunched task resumes instead of starting over.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glass_core.quench import QuenchProtocol, run_quench
from glass_core.systems import get_system

__all__ = ["TASK_KINDS", "item_result_path", "run_task"]

TaskFunction = Callable[[dict[str, Any], dict[str, Any], Path], dict[str, Any]]


def _quench_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    system = get_system(params["system"])
    protocol = QuenchProtocol(**params["protocol"])
    workdir = out_dir / "work" / item_name(item)
    result = run_quench(
        system, int(params["n_particles"]), float(params["temperature"]), int(item["seed"]), protocol, workdir
    )
    result.save(item_result_path(out_dir, item))
    return {
        "md_steps": result.md_steps,
        "wall_seconds": result.wall_seconds,
        "steps_per_second": result.steps_per_second,
    }


def _isoconfigurational_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    from glass_core.isoconfigurational import isoconfigurational_item

    return isoconfigurational_item(params, item, out_dir)


#: Task kinds a worker can run; later studies register theirs here.
TASK_KINDS: dict[str, TaskFunction] = {"quench": _quench_item, "isoconfigurational": _isoconfigurational_item}


def item_name(item: dict[str, Any]) -> str:
    return f"sample_{int(item['sample']):06d}"


def item_result_path(out_dir: Path, item: dict[str, Any]) -> Path:
    return Path(out_dir) / f"{item_name(item)}.npz"


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
    if len(argv) != 2:
        print("usage: python -m glass_core.worker TASK.json", file=sys.stderr)
        return 2
    task = json.loads(Path(argv[1]).read_text())
    return 1 if run_task(task) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
