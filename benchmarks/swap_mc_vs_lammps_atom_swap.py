"""Swap-MC attempts per second against LAMMPS ``fix atom/swap`` on the same ka2d_ternary system.

System: N = 1290 ka2d_ternary at the paper's density, brought to T (default 0.3) by 500 sweeps of swap
MC from a random start; both engines start from that configuration at the same T.

- Ours: :class:`glass_core.simulation.swap_monte_carlo.SwapMonteCarlo`, numba, one core. Reported for swap moves
  only (swap_probability = 1, A↔C and B↔C: the move LAMMPS does) and for the production mixture
  (swap_probability = 0.2, displacements δ_max = 0.1). Best of ``--repeats`` timings (CPU time).
- Baseline: LAMMPS ``fix atom/swap 1 X seed T ke no types 1 3`` (A↔C) with ``pair_style table``
  (linear, 2 000 points: the fastest style for this potential). No integrator is defined, so particles
  do not move; each step performs X swap attempts, each needing a full-system energy. Attempts are
  read from the fix (f_swap[1]); the time of the same steps without the fix is subtracted.
  ``--lepton`` also times the exact lepton style.

RESULT: swap-only attempts/s of ours, ratio to LAMMPS attempts/s (target ≥ 300, goal ≥ 1000).

    .venv/bin/python benchmarks/swap_mc_vs_lammps_atom_swap.py [--temperature 0.3] [--lammps-attempts 4000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from glass_core.files import atomic_write_text
from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import get_system
from glass_core.simulation.lammps_driver import open_session, pair_block
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, SwapMonteCarlo

SYSTEM = get_system("ka2d_ternary")
N = 1290


def ours(config: Configuration, temperature: float, swap_probability: float, sweeps: int, repeats: int) -> tuple:
    chain = SwapMonteCarlo(config, SYSTEM, SwapMCParameters(temperature, swap_probability=swap_probability), seed=7)
    chain.run(2)  # compile / load the numba cache
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        chain.run(sweeps, trace_every=sweeps)
        best = min(best, time.process_time() - start)
    return sweeps * N / best, chain.acceptance


def lammps_atom_swap(config: Configuration, temperature: float, attempts: int, style: str, workdir: Path) -> tuple:
    data = config.write(workdir / "start.data", SYSTEM.type_names)
    pair = workdir / f"pair_{style}.lmp"
    atomic_write_text(pair, pair_block(SYSTEM, style, table_file=workdir / "pair.table"))
    per_step = 100
    steps = max(1, attempts // per_step)
    lmp = open_session(data, pair)
    try:
        for command in (
            "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes", "timestep 0.01",
            "thermo_style custom step pe", "thermo 1000000", "run 1",
        ):  # fmt: skip
            lmp.command(command)
        start = time.process_time()
        lmp.command(f"run {steps}")
        bare = time.process_time() - start
        lmp.command(f"fix swap all atom/swap 1 {per_step} 4242 {temperature} ke no types 1 3")
        lmp.command("run 1")
        before = lmp.extract_fix("swap", 0, 1, 0)
        start = time.process_time()
        lmp.command(f"run {steps}")
        with_fix = time.process_time() - start
        done = lmp.extract_fix("swap", 0, 1, 0) - before
        accepted = lmp.extract_fix("swap", 0, 1, 1)
    finally:
        lmp.close()
    return done / (with_fix - bare), done, accepted, with_fix, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=0.3)
    parser.add_argument("--sweeps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lammps-attempts", type=int, default=4000)
    parser.add_argument("--lepton", action="store_true", help="also time LAMMPS with the exact lepton style")
    args = parser.parse_args()

    start = random_configuration(SYSTEM, N, np.random.default_rng(2024))
    chain = SwapMonteCarlo(start, SYSTEM, SwapMCParameters(args.temperature), seed=1)
    chain.run(500, trace_every=500)
    config = chain.configuration()
    print(f"ka2d_ternary N={N} T={args.temperature} E/N after 500 sweeps: {chain.energy / N:.4f}")

    swap_rate, swap_acc = ours(config, args.temperature, 1.0, args.sweeps, args.repeats)
    mixed_rate, mixed_acc = ours(config, args.temperature, 0.2, args.sweeps, args.repeats)
    print(f"swap MC, swaps only:         {swap_rate:12.4g} attempts/s  acceptance {swap_acc['swap']:.4f}")
    print(
        f"swap MC, p_swap=0.2, d=0.1:  {mixed_rate:12.4g} attempts/s  acceptance displacement "
        f"{mixed_acc['displacement']:.3f} swap {mixed_acc['swap']:.4f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rate, done, accepted, with_fix, bare = lammps_atom_swap(
            config, args.temperature, args.lammps_attempts, "table", Path(tmp)
        )
        print(
            f"LAMMPS fix atom/swap, table: {rate:12.4g} attempts/s  ({done:.0f} attempts, {accepted:.0f} accepted, "
            f"{with_fix:.2f} s with the fix, {bare:.3f} s without)"
        )
        if args.lepton:
            slow, n_slow, _, _, _ = lammps_atom_swap(
                config, args.temperature, args.lammps_attempts // 8, "exact", Path(tmp)
            )
            print(f"LAMMPS fix atom/swap, lepton: {slow:11.4g} attempts/s  ({n_slow:.0f} attempts)")
    print(f"ratio mixed / LAMMPS: {mixed_rate / rate:.0f}")
    print(f"RESULT swap_mc_attempts_per_s {swap_rate:.4g} attempts/s ratio={swap_rate / rate:.0f}")


if __name__ == "__main__":
    main()
