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


def _swap_mc_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """One swap-MC chain → its saved equilibrium samples, energy trace and decorrelation, as one .npz."""
    import numpy as np

    from glass_core.swap_monte_carlo import SwapMCParameters, sample_equilibria

    system = get_system(params["system"])
    mc = SwapMCParameters(
        float(params["temperature"]), float(params["swap_probability"]), float(params["max_displacement"])
    )
    result = sample_equilibria(
        system,
        int(params["n_particles"]),
        float(params["temperature"]),
        int(params["samples_per_chain"]),
        int(params["equilibration_sweeps"]),
        int(params["sweeps_between_samples"]),
        int(item["seed"]),
        mc,
        trace_every=int(params.get("trace_every", 10)),
    )
    _atomic_npz(
        item_result_path(out_dir, item),
        {
            "positions": np.stack([c.positions for c in result.configurations]),
            "types": np.stack([c.types for c in result.configurations]),
            "box": np.asarray(result.configurations[0].box),
            "energies": result.energies,
            "energy_trace": result.energy_trace,
            "trace_sweeps": result.trace_sweeps,
            "overlaps": result.overlaps,
            "typed_overlaps": result.typed_overlaps,
            "type_changed_fraction": result.type_changed_fraction,
            "acceptance": np.asarray(json.dumps(result.acceptance)),
            "attempts": np.asarray(json.dumps(result.attempts)),
            "elapsed_seconds": np.asarray(result.elapsed_seconds),
        },
    )
    sweeps = int(params["equilibration_sweeps"]) + int(params["samples_per_chain"]) * int(
        params["sweeps_between_samples"]
    )
    return {"sweeps": sweeps, "wall_seconds": result.elapsed_seconds, "acceptance": result.acceptance}


def _minimise_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Energy minimisation (LAMMPS FIRE then CG) of one stored configuration → its inherent structure."""
    import numpy as np

    from glass_core.inherent_structures import minimise
    from glass_core.isoconfigurational import load_configuration

    system = get_system(params["system"])
    config = load_configuration(item["configuration"], system.name)
    result = minimise(
        config, system, force_tolerance=float(params["force_tolerance"]), workdir=out_dir / "work" / item_name(item)
    )
    _atomic_npz(
        item_result_path(out_dir, item),
        {
            "positions": result.configuration.positions,
            "types": result.configuration.types,
            "box": np.asarray(result.configuration.box),
            "energy": np.asarray(result.energy),
            "initial_energy": np.asarray(result.initial_energy),
            "force_norm": np.asarray(result.force_norm),
            "max_force": np.asarray(result.max_force),
            "iterations": np.asarray(result.iterations),
            "converged": np.asarray(result.converged),
        },
    )
    return {"force_norm": result.force_norm, "iterations": result.iterations}


def _atomic_npz(path: Path, arrays: dict[str, Any]) -> None:
    import os
    import tempfile

    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


#: Task kinds a worker can run; later studies register theirs here.
TASK_KINDS: dict[str, TaskFunction] = {
    "quench": _quench_item,
    "isoconfigurational": _isoconfigurational_item,
    "swap_mc": _swap_mc_item,
    "minimise": _minimise_item,
}


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
