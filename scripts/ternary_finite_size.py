"""Measurement (not a CI test): the ka2d_ternary time scale at one temperature, N = 1290 against N = 256.

[J]/[G] and GlassBench use N = 1290; the demo profile N = 256 (swap_mc.n_particles). A 2D box of 256
particles (L ≈ 14.7 σ) could relax at another rate than one of 1290 (L = 32.9 σ): long-wavelength (Mermin–
Wagner) fluctuations grow with L, and a small box cuts off the dynamic heterogeneity. This script checks
once, with the platform's own code, on quantities both boxes measure:

- equilibria: ``--configs`` independent swap-MC chains per N (glass_core.simulation.swap_monte_carlo.
  sample_equilibria: random start, ``--equilibration`` sweeps, one sample ``--between`` sweeps later; the
  self-overlap Q of that sample with the end of equilibration, Q < 1/e, says it is decorrelated);
- dynamics: ``--replicas`` NVT MD runs (glass_core.simulation.isoconfigurational, Nosé–Hoover, T_damp = 0.5,
  the platform's replica template) of each equilibrium up to ``--t-max``, log-spaced frames;
- per configuration, from glass_core.dynamics.propensity: the all-particle bond-breaking correlation
  ⟨C_B⟩(t) (1.4 σ / 1.8 σ [G]) and the cage-relative clock δ(t) = (1/N) Σ_i √Δ_i(t) [O].

Printed, per N: E/N of the equilibria and Q (mean ± SE, n); ⟨C_B⟩(t) and δ(t) at fixed times (mean ± SE
over configurations, n) with the difference N = 1290 − N = 256 and its 2-SE verdict
(glass_core.models.statistics.judge: ``unresolved`` = the data cannot tell a difference); the times where
⟨C_B⟩ falls to ``--levels`` (e.g. 0.99: an early-time relaxation time both boxes reach at T = 0.3) and τ_α
(⟨C_B⟩ = 1/e, the platform's convention, glass_core.dynamics.propensity.relaxation_time) where the run
reaches it, else "beyond the run". Cost: N × t_max/dt MD steps per configuration and replica.

    PYTHONPATH=$PWD .venv/bin/python scripts/ternary_finite_size.py [--temperature 0.3] [--sizes 256 1290]
        [--configs 6 4] [--t-max 1000] [--levels 0.99 0.98 0.95]

Measured at T = 0.3 with the defaults (6 configurations at N = 256, 4 at N = 1290, one MD run each,
t_max = 1000; 342 CPU s on one core of 2 shared): E/N −2.6044 ± 0.0054 and −2.5998 ± 0.0049; Q = 0.26 ±
0.04 and 0.30 ± 0.01; ⟨C_B⟩(1000) = 0.969 ± 0.013 and 0.959 ± 0.006; δ(1000) = 0.138 ± 0.024 and 0.159 ±
0.011; every difference within 2 SE at t = 1 … 1000; τ_α (⟨C_B⟩ = 1/e) reached by no configuration.

[J] Jung, Biroli, Berthier, arXiv:2310.20252; [G] PRL 130, 238202 (2023); [O] Oyama et al. (2023).
"""

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glass_core.dynamics.propensity import propensity_labels, relaxation_time
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.statistics import SampleMean, difference, judge, sample_mean
from glass_core.models.systems import get_system
from glass_core.simulation.isoconfigurational import (
    IsoconfigurationalProtocol,
    log_spaced_steps,
    replica_seeds,
    run_isoconfigurational,
)
from glass_core.simulation.swap_monte_carlo import sample_equilibria

SYSTEM = "ka2d_ternary"
BASE_SEED = 20231031
PROBE_TIMES = (1.0, 10.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)


@dataclass
class SizeRun:
    """Equilibria and dynamics of one box size."""

    n_particles: int
    energies: list[float]
    overlaps: list[float]
    times: np.ndarray
    bonds: list[np.ndarray]  # per configuration: ⟨C_B⟩(t)
    delta: list[np.ndarray]  # per configuration: δ(t)
    md_steps: int
    md_seconds: float
    mc_seconds: float


def equilibria(
    n_particles: int, temperature: float, n_configs: int, equilibration: int, between: int
) -> tuple[list[Configuration], list[float], list[float], float]:
    """``n_configs`` independent swap-MC equilibria: configurations, E/N, Q with the end of equilibration, CPU s."""
    system = get_system(SYSTEM)
    configs, energies, overlaps = [], [], []
    clock = time.process_time()
    for k in range(n_configs):
        seed = derive_seed(SYSTEM, temperature, k, BASE_SEED, f"finite-size-{n_particles}")
        result = sample_equilibria(system, n_particles, temperature, 1, equilibration, between, seed, trace_every=1000)
        configs.append(result.configurations[0])
        energies.append(float(result.energies[0]))
        overlaps.append(float(result.overlaps[0]))
    return configs, energies, overlaps, time.process_time() - clock


def dynamics(n_particles: int, temperature: float, args: argparse.Namespace, scratch: Path) -> SizeRun:
    """Equilibria of one N, then MD of each: ⟨C_B⟩(t) and δ(t) per configuration."""
    system = get_system(SYSTEM)
    n_configs = args.configs[args.sizes.index(n_particles)]
    configs, energies, overlaps, mc_seconds = equilibria(
        n_particles, temperature, n_configs, args.equilibration, args.between
    )
    steps = log_spaced_steps(int(round(args.t_max / system.md_timestep)), args.per_decade)
    protocol = IsoconfigurationalProtocol(temperature, args.replicas, tuple(int(s) for s in steps))
    bonds, delta, md_steps, md_seconds = [], [], 0, 0.0
    for k, config in enumerate(configs):
        seeds = replica_seeds(SYSTEM, temperature, k, BASE_SEED + n_particles, args.replicas)
        trajectories = run_isoconfigurational(config, system, protocol, seeds, scratch / f"n{n_particles}_{k}")
        labels = propensity_labels(trajectories, system)
        bonds.append(labels.mean_bond_breaking)
        delta.append(labels.cage_clock)
        md_steps += trajectories.md_steps
        md_seconds += trajectories.md_wall_seconds
    times = steps * system.md_timestep
    return SizeRun(n_particles, energies, overlaps, times, bonds, delta, md_steps, md_seconds, mc_seconds)


def at_time(run: SizeRun, curves: list[np.ndarray], t: float) -> SampleMean:
    """Mean ± SE over configurations of ``curves`` at time ``t`` (linear between frames)."""
    return sample_mean([float(np.interp(t, run.times, c)) for c in curves])


def level_time(run: SizeRun, level: float) -> tuple[SampleMean, int]:
    """Time where each configuration's ⟨C_B⟩ falls to ``level``: mean ± SE over those that reach it, and how many."""
    found = [relaxation_time(run.times, c, level) for c in run.bonds]
    return sample_mean(found), sum(t is not None for t in found)


def compare(label: str, a: SampleMean, b: SampleMean) -> str:
    """``label  a  b  b − a ± SE  verdict`` for b − a > 0 and for b − a < 0."""
    d = difference(b, a)
    se = "—" if d.stderr is None else f"{d.stderr:.2g}"
    verdict = {"pass": "larger", "fail": "smaller", "unresolved": "no difference resolved", "no data": "no data"}
    return f"{label:>10}  {a.text()}   {b.text()}   {d.value:+.3g} ± {se}   {verdict[judge(d)]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=0.3)
    parser.add_argument("--sizes", nargs=2, type=int, default=[256, 1290])
    parser.add_argument("--configs", nargs=2, type=int, default=[6, 4], help="configurations per size")
    parser.add_argument("--replicas", type=int, default=1, help="MD runs per configuration")
    parser.add_argument("--equilibration", type=int, default=30000, help="swap-MC sweeps before the sample")
    parser.add_argument("--between", type=int, default=20000, help="sweeps from end of equilibration to the sample")
    parser.add_argument("--t-max", type=float, default=1000.0)
    parser.add_argument("--per-decade", type=int, default=5)
    parser.add_argument("--levels", nargs="*", type=float, default=[0.99, 0.98, 0.95])
    args = parser.parse_args()

    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        runs = [dynamics(n, args.temperature, args, Path(scratch)) for n in args.sizes]
    small, large = runs
    print(f"{SYSTEM} at T = {args.temperature}: NVT MD to t = {args.t_max:g}, {args.replicas} run(s) per configuration")
    for run in runs:
        print(
            f"N = {run.n_particles}: E/N {sample_mean(run.energies).text(5)}, Q(sample, end of equilibration) "
            f"{sample_mean(run.overlaps).text()} (decorrelated below {np.exp(-1):.3f}); "
            f"swap MC {run.mc_seconds:.0f} CPU s, "
            f"MD {run.md_steps / max(run.md_seconds, 1e-9):.0f} steps/s ({run.md_seconds:.0f} s)"
        )
    print(f"{'':>10}  N = {small.n_particles}   N = {large.n_particles}   difference (large − small)")
    print(compare("E/N", sample_mean(small.energies), sample_mean(large.energies)))
    for t in [t for t in PROBE_TIMES if t <= args.t_max]:
        print(compare(f"C_B({t:g})", at_time(small, small.bonds, t), at_time(large, large.bonds, t)))
    for t in [t for t in PROBE_TIMES if t <= args.t_max]:
        print(compare(f"δ({t:g})", at_time(small, small.delta, t), at_time(large, large.delta, t)))
    for level in [*args.levels, float(np.exp(-1))]:
        (a, na), (b, nb) = level_time(small, level), level_time(large, level)
        name = "τ_α" if level == float(np.exp(-1)) else f"t(C_B={level:g})"
        if na < len(small.bonds) or nb < len(large.bonds):
            print(f"{name:>10}  reached by {na}/{len(small.bonds)} and {nb}/{len(large.bonds)} configurations "
                  f"(beyond t = {args.t_max:g} for the others): {a.text()}   {b.text()}")  # fmt: skip
        else:
            print(compare(name, a, b))
    print(f"wall {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
