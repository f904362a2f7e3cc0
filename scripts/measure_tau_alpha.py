"""Measurement (not a CI test): τ_α of stored configurations by plain MD, beyond what a profile runs.

Takes ``--samples`` configurations of one stored ensemble partition (default: the swap-MC equilibria of
ka2d_ternary at ``--source-temperature``), runs ``--replicas`` MD trajectories of each at ``--temperature``
(default: the source temperature) up to ``--t-max`` with the isoconfigurational template, and prints the
bond-breaking correlation ⟨C_B⟩(t) (1.4σ/1.8σ rule, glass_core.dynamics.propensity) averaged over configurations,
replicas and particles, its τ_α (⟨C_B⟩ = 1/e) and, per configuration, the potential energy at the start
and over the second half of the run (a stationary energy says the start was at equilibrium at T).

    .venv/bin/python scripts/measure_tau_alpha.py --source-temperature 0.6 --t-max 1000
    .venv/bin/python scripts/measure_tau_alpha.py --source-temperature 0.3 --t-max 10000 --samples 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from glass_assets.tables import configurations
from glass_assets.warehouse import Warehouse
from glass_core.dynamics.propensity import mean_over_particles, propensity_labels, relaxation_time
from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from glass_core.simulation.isoconfigurational import (
    IsoconfigurationalProtocol,
    log_spaced_steps,
    run_isoconfigurational,
)


def one_configuration(
    args: tuple[str, Configuration, IsoconfigurationalProtocol, list[int], str],
) -> tuple[np.ndarray, np.ndarray, float]:
    system_name, config, protocol, seeds, workdir = args
    system = get_system(system_name)
    trajectories = run_isoconfigurational(config, system, protocol, seeds, workdir)
    labels = propensity_labels(trajectories, system)
    return mean_over_particles(labels.bond_breaking), trajectories.thermo, trajectories.md_wall_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default="data/warehouse.duckdb")
    parser.add_argument("--system", default="ka2d_ternary")
    parser.add_argument("--source-temperature", type=float, required=True)
    parser.add_argument("--ensemble", default="swap_mc", help="stored ensemble of the start configurations")
    parser.add_argument("--temperature", type=float, help="MD temperature (default: the source temperature)")
    parser.add_argument("--t-max", type=float, default=1000.0, help="LJ time of each run")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--per-decade", type=int, default=5)
    parser.add_argument("--md-ensemble", default="nvt", choices=["nvt", "nve"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    system = get_system(args.system)
    temperature = args.temperature or args.source_temperature
    key = {"system": args.system, "temperature": args.source_temperature, "ensemble": args.ensemble}
    store = Warehouse(args.warehouse)
    samples = store.read_partition("samples", key).head(args.samples)
    if samples.height == 0:
        raise SystemExit(f"no stored configurations {key} in {args.warehouse}")
    particles = store.read_partition("particles", key)
    configs = configurations(samples, particles.filter(particles["sample"].is_in(samples["sample"].implode())))
    steps = log_spaced_steps(int(round(args.t_max / system.md_timestep)), args.per_decade)
    protocol = IsoconfigurationalProtocol(temperature, args.replicas, tuple(int(s) for s in steps), args.md_ensemble)
    print(f"{len(configs)} configurations of {key} × {args.replicas} replicas, MD at T = {temperature} to {args.t_max}")
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, ProcessPoolExecutor(args.workers) as pool:
        jobs = [
            (
                args.system,
                config,
                protocol,
                [1000 * sample + r + 1 for r in range(args.replicas)],
                f"{scratch}/{sample}",
            )
            for sample, config in configs.items()
        ]
        results = list(pool.map(one_configuration, jobs))
    times = steps * system.md_timestep
    half = len(steps) // 2
    for sample, (curve, thermo, wall) in zip(configs, results, strict=True):
        print(
            f"sample {sample}: E_pot/N start {thermo[:, 0, 1].mean():.4f}, "
            f"second half {thermo[:, half:, 1].mean():.4f}; "
            f"T_kin {thermo[:, half:, 0].mean():.4f}; τ_α {relaxation_time(times, curve)}; MD {wall:.0f} s"
        )
    mean_curve = np.mean([curve for curve, _, _ in results], axis=0)
    print("      t   ⟨C_B⟩")
    for t, c in zip(times, mean_curve, strict=True):
        print(f"{t:9.2f}  {c:.4f}")
    tau = relaxation_time(times, mean_curve)
    reached = (
        f"{tau:.4g}" if tau is not None else f"beyond the run (⟨C_B⟩ = {mean_curve[-1]:.3f} at t = {times[-1]:.4g})"
    )
    print(f"τ_α of {args.system} at T = {temperature}: {reached}; wall {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
