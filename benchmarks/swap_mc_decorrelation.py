"""Time to produce one decorrelated equilibrium configuration of ka2d_ternary at a low demo temperature.

Swap MC (glass_core.simulation.swap_monte_carlo, defaults: swap probability 0.2, δ_max = 0.1) equilibrates a
random start (``--equilibration`` sweeps), then runs on; the decorrelation time is the number of sweeps
after which the positional self-overlap with the previous saved configuration,
Q(t) = (1/N) Σ_i θ(0.3 − |r_i(t) − r_i(0)|), first drops below 1/e (the usual criterion; swaps exchange
types, not places, so Q only decays by real displacements). Measured ``--intervals`` times in a row and
averaged.

Baseline, same run: LAMMPS Nosé–Hoover NVT MD (``pair_style table``, dt = 0.01) at the same T from the
same equilibrated configuration, Q(t) from ``compute displace/atom``, same criterion. If MD has not
decorrelated within ``--md-max-seconds`` of CPU time, its time is a lower bound (printed with ">").

RESULT: CPU seconds per decorrelated configuration with swap MC, ratio to MD (< 1: swap MC is faster).

    .venv/bin/python benchmarks/swap_mc_decorrelation.py [--temperature 0.3] [--n 256]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from glass_core.dynamics.overlap import self_overlap
from glass_core.files import atomic_write_text
from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.lammps_driver import open_session, pair_block
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, SwapMonteCarlo

SYSTEM = get_system("ka2d_ternary")
THRESHOLD = 1.0 / math.e


def mc_decorrelation(chain: SwapMonteCarlo, chunk: int, max_sweeps: int) -> tuple[int, float]:
    """(sweeps, CPU seconds) until Q < 1/e from the chain's current state."""
    reference = chain.unwrapped.copy()
    sweeps, cpu = 0, 0.0
    while sweeps < max_sweeps:
        start = time.process_time()
        chain.run(chunk, trace_every=chunk)
        cpu += time.process_time() - start
        sweeps += chunk
        if self_overlap(chain.unwrapped - reference) < THRESHOLD:
            break
    return sweeps, cpu


def md_decorrelation(config: Configuration, temperature: float, chunk: int, max_cpu: float, workdir: Path) -> tuple:
    """(MD steps, CPU seconds, decorrelated?) until Q < 1/e, LAMMPS NVT from ``config``."""
    data = config.write(workdir / "start.data", SYSTEM.type_names)
    pair = workdir / "pair.lmp"
    atomic_write_text(pair, pair_block(SYSTEM, "table", table_file=workdir / "pair.table"))
    n = config.n_particles
    lmp = open_session(data, pair)
    steps, cpu, decorrelated = 0, 0.0, False
    try:
        for command in (
            "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
            f"timestep {SYSTEM.md_timestep}", f"velocity all create {temperature} 9 dist gaussian mom yes",
            f"fix nvt all nvt temp {temperature} {temperature} 0.5", "fix plane all enforce2d",
            "compute disp all displace/atom", "thermo_style custom step pe", "thermo 1000000", "run 0",
        ):  # fmt: skip
            lmp.command(command)
        while cpu < max_cpu:
            start = time.process_time()
            lmp.command(f"run {chunk}")
            cpu += time.process_time() - start
            steps += chunk
            displacement = np.asarray(lmp.numpy.extract_compute("disp", 1, 2))[:n, :2]
            if self_overlap(displacement) < THRESHOLD:
                decorrelated = True
                break
    finally:
        lmp.close()
    return steps, cpu, decorrelated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=0.3)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--equilibration", type=int, default=10_000, help="swap-MC sweeps from the random start")
    parser.add_argument("--intervals", type=int, default=3)
    parser.add_argument("--md-max-seconds", type=float, default=90.0)
    args = parser.parse_args()
    t, n = args.temperature, args.n

    start_config = random_configuration(SYSTEM, n, np.random.default_rng(31))
    chain = SwapMonteCarlo(start_config, SYSTEM, SwapMCParameters(t), seed=31)
    chain.run(1)  # compile / load the numba cache
    began = time.process_time()
    trace = chain.run(args.equilibration, trace_every=max(1, args.equilibration // 10))
    equilibration_cpu = time.process_time() - began
    print(f"ka2d_ternary N={n} T={t}: equilibration {args.equilibration} sweeps in {equilibration_cpu:.2f} s")
    print("  E/N every tenth of it: " + " ".join(f"{e:.3f}" for e in trace))
    equilibrated = chain.configuration()

    results = [mc_decorrelation(chain, 200, 400_000) for _ in range(args.intervals)]
    sweeps = np.array([r[0] for r in results])
    cpu = np.array([r[1] for r in results])
    mc_time = float(cpu.mean())
    print(
        f"swap MC: Q < 1/e after {', '.join(str(s) for s in sweeps)} sweeps; {mc_time:.2f} s per configuration "
        f"(acceptance: displacement {chain.acceptance['displacement']:.3f}, swap {chain.acceptance['swap']:.4f})"
    )

    with tempfile.TemporaryDirectory() as tmp:
        steps, md_time, decorrelated = md_decorrelation(equilibrated, t, 2000, args.md_max_seconds, Path(tmp))
    bound = "" if decorrelated else ">"
    print(
        f"LAMMPS MD: Q < 1/e after {bound}{steps} steps (t = {bound}{steps * SYSTEM.md_timestep:.0f}); "
        f"{bound}{md_time:.2f} s"
    )
    print(
        f"one decorrelated configuration from scratch (equilibration + one interval): "
        f"{equilibration_cpu + mc_time:.2f} s"
    )
    print(f"RESULT swap_mc_time_per_decorrelated_config {mc_time:.2f} s ratio={bound}{mc_time / md_time:.3f}")


if __name__ == "__main__":
    main()
