"""LAMMPS MD speed of ka2d_ternary with ``pair_style table`` against native ``lj/smooth/linear``.

The C²-smooth LJ of ka2d_ternary has no native LAMMPS style; ``lepton`` evaluates it exactly but parses
and compiles its expressions in every force call. The platform runs it as ``pair_style table``
(:func:`glass_core.simulation.lammps_driver.pair_block`, default: linear interpolation on 2 000 points). The baseline is
``lj/smooth/linear`` with the same σ_ij, ε_ij and cutoffs (a different potential of identical cost
structure): what a native style would run at.

Same N = 1290 configuration (swap MC at T = 0.5), Nosé–Hoover NVT at T = 0.5, dt = 0.01, one core.
Each style is timed ``--repeats`` times, interleaved, best CPU time kept. The largest per-particle
energy error against the exact numpy energy (glass_core.models.energy) is printed for each style.

RESULT: steps/s of the default table, ratio to ``lj/smooth/linear`` (target ≥ 0.8).

    .venv/bin/python benchmarks/ternary_md_speed.py [--steps 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from glass_core.files import atomic_write_text
from glass_core.models.energy import potential_energy
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import PotentialForm, get_system
from glass_core.simulation.lammps_driver import open_session, pair_block
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, SwapMonteCarlo

SYSTEM = get_system("ka2d_ternary")
N, TEMPERATURE = 1290, 0.5


def md_rate(data: Path, block: str, workdir: Path, name: str, steps: int) -> tuple[float, np.ndarray]:
    """(steps/s in CPU time, per-particle energies of the start) for one pair block."""
    pair = workdir / f"{name}.lmp"
    atomic_write_text(pair, block)
    lmp = open_session(data, pair)
    try:
        for command in (
            "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
            f"timestep {SYSTEM.md_timestep}", "compute pa all pe/atom", "thermo_style custom step pe", "thermo 100000",
            "run 0",
        ):  # fmt: skip
            lmp.command(command)
        ids = np.asarray(lmp.numpy.extract_atom("id"))[:N]
        energies = np.empty(N)
        energies[ids - 1] = np.asarray(lmp.numpy.extract_compute("pa", 1, 1))[:N]
        lmp.command(f"velocity all create {TEMPERATURE} 11 dist gaussian mom yes")
        lmp.command(f"fix nvt all nvt temp {TEMPERATURE} {TEMPERATURE} 0.5")
        lmp.command("fix plane all enforce2d")
        lmp.command("run 100")
        start = time.process_time()
        lmp.command(f"run {steps}")
        elapsed = time.process_time() - start
    finally:
        lmp.close()
    return steps / elapsed, energies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    chain = SwapMonteCarlo(random_configuration(SYSTEM, N, np.random.default_rng(5)), SYSTEM,
                           SwapMCParameters(TEMPERATURE), seed=5)  # fmt: skip
    chain.run(500, trace_every=500)
    config = chain.configuration()
    exact = potential_energy(config, SYSTEM).per_particle
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = config.write(workdir / "start.data", SYSTEM.type_names)
        native = dataclasses.replace(SYSTEM, potential=PotentialForm.LJ_SHIFTED_FORCE)
        blocks = {
            "lj/smooth/linear (baseline)": pair_block(native),
            "table linear 2000 (default)": pair_block(SYSTEM, "table", table_file=workdir / "t2000.table"),
            "table spline 2000": pair_block(SYSTEM, "table", 2000, workdir / "t2000.table", "spline"),
            "table linear 20000": pair_block(SYSTEM, "table", 20000, workdir / "t20000.table", "linear"),
        }
        rates: dict[str, float] = {name: 0.0 for name in blocks}
        errors: dict[str, float] = {}
        for _ in range(args.repeats):
            for k, (name, block) in enumerate(blocks.items()):
                rate, energies = md_rate(data, block, workdir, f"pair{k}", args.steps)
                rates[name] = max(rates[name], rate)
                errors[name] = float(np.abs(energies - exact).max())
        lepton_rate, lepton_energies = md_rate(data, pair_block(SYSTEM, "exact"), workdir, "lepton", args.steps // 10)
    base = rates["lj/smooth/linear (baseline)"]
    print(f"ka2d_ternary N={N} NVT T={TEMPERATURE} dt={SYSTEM.md_timestep}, best of {args.repeats} (CPU time)")
    for name, rate in rates.items():
        note = "(a different potential)" if "baseline" in name else f"max |ΔE_i| {errors[name]:.1e}"
        print(f"{name:30s} {rate:8.0f} steps/s  {rate / base:5.2f}x native  {note}")
    lepton_error = float(np.abs(lepton_energies - exact).max())
    print(
        f"{'lepton (exact)':30s} {lepton_rate:8.0f} steps/s  {lepton_rate / base:5.2f}x native  "
        f"max |ΔE_i| {lepton_error:.1e}"
    )
    table = rates["table linear 2000 (default)"]
    print(f"RESULT ternary_md_table_steps_per_s {table:.0f} steps/s ratio={table / base:.2f}")


if __name__ == "__main__":
    main()
