"""Per-task overhead of the Slurm launcher against the local launcher, the paper campaign it implies, and
the warehouse cost of one paper-scale partition.

1. Overhead per task. A task is one worker process running one trivially short item (a 64-particle
   quench of a handful of MD steps). Overhead = wall time of ``run_tasks`` (write the task, start the
   worker — locally a subprocess, on Slurm ``sbatch`` → scheduled → started — and see its result file)
   minus the item's own compute time (the worker's ``seconds``); best of 3. The campaign figure uses
   the one-task latency, which an array task pays once whatever its number of items. For scale, also
   the cost per item of a batch of 8 on 2 CPUs (``wall × 2 / 8 − mean item time``): local workers take
   4 items each, Slurm starts one array task per item. Needs a live Slurm
   (``scripts/start_local_slurm.sh``).
2. Simulated campaign ([O]: 10⁴ quenches of N = 2000, 9.5×10⁶ MD steps each) on 1000 cores, from the
   measured single-core LAMMPS rate (DESIGN.md: ≈ 3.8×10³ steps/s for N = 2000, ``lj/smooth/linear``):
   t_q = 9.5×10⁶ / 3.8×10³ ≈ 2.5×10³ s per quench. With k quenches per array task and n_t = ⌈10⁴/k⌉
   tasks, makespan = ⌈n_t / 1000⌉ × (k t_q + o) (identical tasks, list scheduling), o the measured
   per-task overhead; overhead fraction = o / (k t_q + o). Slurm's default MaxArraySize (1001) makes
   the launcher chunk k = 10 (``max_array_tasks = 1000``); k = 1 (10 arrays or MaxArraySize ≥ 10⁴) is
   shown too.
3. Warehouse: write (``Warehouse.replace_partition``) and read back (``read_partition``) the
   ``particles`` rows of one paper partition, 5000 samples × 2000 particles = 10⁷ rows, in a temporary
   folder that is deleted afterwards; time and DuckDB file size.

    .venv/bin/python benchmarks/slurm_overhead.py

Last line: ``RESULT slurm_overhead_per_task <o> s ratio=<local overhead / Slurm overhead>`` (one task).
"""

import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_of  # noqa: E402

from glass_assets.launchers import LocalProcessLauncher, SimulationLauncher, SlurmLauncher  # noqa: E402
from glass_assets.warehouse import Warehouse, ensemble_key  # noqa: E402
from glass_core.simulation.quench import QuenchProtocol  # noqa: E402

#: DESIGN.md, "Known platform facts": N = 2000 2D KA, lj/smooth/linear, one core
MEASURED_STEPS_PER_SECOND = 3.8e3
STEPS_PER_QUENCH = 9.5e6  # [O]: cooling at 8.33e-5 from T = 4 plus equilibration and hold
CAMPAIGN_QUENCHES, CAMPAIGN_CORES = 10_000, 1000
PAPER_SAMPLES, PAPER_PARTICLES = 5000, 2000
BATCH_ITEMS, REPEATS = 8, 3

TRIVIAL_PARAMS = {
    "system": "kam",
    "n_particles": 64,
    "temperature": 3.9,
    "protocol": QuenchProtocol(
        t_high=4.0, equilibration_time=0.01, cooling_rate=100.0, hold_time=0.01, thermo_interval=1
    ).to_dict(),
}


def overhead_of(launcher: SimulationLauncher, n_items: int, cpus: int, workdir: Path) -> float:
    """Wall time of one run_tasks call on ``n_items`` trivial items, less their compute, per task and CPU."""
    item_seconds: list[float] = []
    out_dir = Path(tempfile.mkdtemp(dir=workdir))
    items = [{"sample": k, "seed": 1000 + k} for k in range(n_items)]

    def record(event: dict) -> None:
        if event.get("event") == "item_done":
            item_seconds.append(float(event["seconds"]))

    start = time.perf_counter()
    launcher.run_tasks("quench", TRIVIAL_PARAMS, items, out_dir, on_event=record)
    wall = time.perf_counter() - start
    shutil.rmtree(out_dir)
    return wall * min(cpus, n_items) / n_items - statistics.mean(item_seconds)


def best_overhead(launcher: SimulationLauncher, n_items: int, cpus: int, workdir: Path) -> float:
    overheads: list[float] = []
    best_of(lambda: overheads.append(overhead_of(launcher, n_items, cpus, workdir)), REPEATS)
    return min(overheads)


def campaign(overhead: float, quenches_per_task: int) -> tuple[float, float, int]:
    """(makespan in s, overhead fraction, number of array tasks) of the simulated paper campaign."""
    per_quench = STEPS_PER_QUENCH / MEASURED_STEPS_PER_SECOND
    n_tasks = math.ceil(CAMPAIGN_QUENCHES / quenches_per_task)
    task_seconds = quenches_per_task * per_quench + overhead
    return math.ceil(n_tasks / CAMPAIGN_CORES) * task_seconds, overhead / task_seconds, n_tasks


def warehouse_partition(workdir: Path) -> tuple[float, float, int, int]:
    """(write s, read s, file bytes, rows read) for one paper partition's particle rows."""
    rng = np.random.default_rng(0)
    n = PAPER_SAMPLES * PAPER_PARTICLES
    key = ensemble_key("kam", 0.4, "quenched")
    box = math.sqrt(PAPER_PARTICLES / 1.2)
    particles = pl.DataFrame(
        {
            "sample": np.repeat(np.arange(PAPER_SAMPLES, dtype=np.int32), PAPER_PARTICLES),
            "particle": np.tile(np.arange(PAPER_PARTICLES, dtype=np.int32), PAPER_SAMPLES),
            "type": (rng.random(n) < 0.35).astype(np.int8),
            "x": rng.random(n) * box,
            "y": rng.random(n) * box,
        }
    ).with_columns(**{column: pl.lit(value) for column, value in key.items()})
    store = Warehouse(workdir / "paper_partition.duckdb")
    start = time.perf_counter()
    store.replace_partition(key, {"particles": particles})
    write = time.perf_counter() - start
    start = time.perf_counter()
    rows = store.read_partition("particles", key).height
    read = time.perf_counter() - start
    return write, read, store.path.stat().st_size, rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="slurm_overhead_") as tmp:
        workdir = Path(tmp)
        slurm = SlurmLauncher(items_per_task=1, poll_seconds=0.2)
        local_one = best_overhead(LocalProcessLauncher(max_workers=1), 1, 1, workdir)
        slurm_one = best_overhead(slurm, 1, 1, workdir)
        local_batch = best_overhead(LocalProcessLauncher(max_workers=2), BATCH_ITEMS, 2, workdir)
        slurm_batch = best_overhead(slurm, BATCH_ITEMS, 2, workdir)
        print(
            f"overhead of one task (submit -> start -> result seen): "
            f"local {local_one:6.2f} s   Slurm {slurm_one:6.2f} s"
        )
        print(
            f"overhead per item, {BATCH_ITEMS} items on 2 CPUs:                local {local_batch:6.2f} s   "
            f"Slurm {slurm_batch:6.2f} s  "
            f"(local: 2 workers of {BATCH_ITEMS // 2} items; Slurm: {BATCH_ITEMS} array tasks)"
        )

        per_quench = STEPS_PER_QUENCH / MEASURED_STEPS_PER_SECOND
        print(
            f"paper campaign: {CAMPAIGN_QUENCHES} quenches × {STEPS_PER_QUENCH:.2g} steps at "
            f"{MEASURED_STEPS_PER_SECOND:.2g} steps/s = {per_quench:.0f} s each, "
            f"{CAMPAIGN_QUENCHES * per_quench / 3600:.0f} core-hours, on {CAMPAIGN_CORES} cores"
        )
        for k in (10, 1):
            makespan, fraction, n_tasks = campaign(slurm_one, k)
            print(
                f"  {k:2d} quench(es)/task, {n_tasks} array tasks: makespan {makespan / 3600:6.2f} h, "
                f"overhead fraction {100 * fraction:.3f} % (goal ≤ 1 %)"
            )

        write, read, size, rows = warehouse_partition(workdir)
        print(
            f"warehouse, one paper partition ({rows:.2e} particle rows): write {write:.1f} s, read {read:.1f} s, "
            f"file {size / 2**20:.0f} MiB"
        )
    print(f"RESULT slurm_overhead_per_task {slurm_one:.3f} s ratio={local_one / slurm_one:.3f}")


if __name__ == "__main__":
    main()
