"""Swap MC of an 8 × 8-tiled ka2d_ternary box (N = 82 560): speed, and time to decorrelate the copies.

[G]/[J] predict propensities on N = 82 560 boxes for S4(q) and ξ4. A tiled equilibrium configuration
is a legal start, but its copies are identical: the chain must decorrelate them before a sample is an
equilibrium configuration of the large box.

1. A small equilibrium: N = 1290 (the paper's box) from a random start, ``--equilibration`` swap-MC
   sweeps at T = 0.4 (default 4000; E/N reaches its plateau after ≈ 1500 sweeps, printed below).
2. Baseline, same run: swap-MC sweeps/s of that small box (glass_core.swap_monte_carlo defaults: swap
   probability 0.2, δ_max = 0.1), and the sweeps until its self-overlap with the start,
   Q = (1/N) Σ_i θ(0.3 − |Δr_i|), falls below 1/e.
3. The 8 × 8 tiling (glass_core.models.tiling), in tile order and spatially ordered (particles sorted
   by 3.2 σ cells): sweeps/s of each.
4. From the tiled start (spatially ordered), Q(sweeps) against the tiled start until Q < 1/e or
   ``--budget`` seconds of wall time; if the budget runs out, the crossing is extrapolated with a
   stretched exponential Q = exp(−(s/τ)^β) fitted to the measured Q < 0.97 points (Q = 1/e at s = τ)
   and said so. MC dynamics per sweep does not depend on N, so the small box's crossing is a check.

RESULT: sweeps/s at N = 82 560 (spatially ordered), ratio = particle-sweeps/s tiled / small.

    .venv/bin/python benchmarks/tiled_swap_mc.py [--budget 170] [--tiles 8]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from timing import best_of

from glass_core.initial_configurations import random_configuration
from glass_core.models.tiling import spatially_ordered, tile_configuration
from glass_core.swap_monte_carlo import SwapMCParameters, SwapMonteCarlo, self_overlap
from glass_core.systems import get_system

SYSTEM = get_system("ka2d_ternary")
THRESHOLD = 1.0 / math.e


def overlap_trace(chain: SwapMonteCarlo, chunk: int, max_sweeps: int, budget: float) -> tuple[list, list, float]:
    """Q against the chain's current state every ``chunk`` sweeps, until Q < 1/e, max_sweeps or budget (s)."""
    start_positions = chain.unwrapped.copy()
    sweeps, overlaps = [], []
    began = time.perf_counter()
    while chain.sweeps < max_sweeps + 1 and time.perf_counter() - began < budget:
        chain.run(chunk, trace_every=chunk)
        sweeps.append(len(sweeps) * chunk + chunk)
        overlaps.append(self_overlap(chain.unwrapped - start_positions))
        if overlaps[-1] < THRESHOLD:
            break
    return sweeps, overlaps, time.perf_counter() - began


def stretched_exponential_tau(sweeps: np.ndarray, overlaps: np.ndarray) -> tuple[float, float]:
    """(τ, β) of Q = exp(−(s/τ)^β) from the straight line log(−log Q) = β log s − β log τ."""
    use = (overlaps < 0.97) & (overlaps > 0.0)
    if use.sum() < 3:
        use = overlaps < 1.0
    beta, intercept = np.polyfit(np.log(sweeps[use]), np.log(-np.log(overlaps[use])), 1)
    return float(math.exp(-intercept / beta)), float(beta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=0.4)
    parser.add_argument("--tiles", type=int, default=8)
    parser.add_argument("--equilibration", type=int, default=4000)
    parser.add_argument("--budget", type=float, default=170.0, help="wall seconds for the tiled decorrelation")
    args = parser.parse_args()
    params = SwapMCParameters(args.temperature)

    small_start = random_configuration(SYSTEM, 1290, np.random.default_rng(11))
    small = SwapMonteCarlo(small_start, SYSTEM, params, seed=11)
    trace = small.run(args.equilibration, trace_every=max(1, args.equilibration // 10))
    print(f"N = 1290, T = {args.temperature}: {args.equilibration} sweeps from a random start; E/N every tenth:")
    print("  " + " ".join(f"{e:.3f}" for e in trace))
    equilibrium = small.configuration()

    small_rate = 200 / best_of(lambda: small.run(200), 3)
    print(f"small box: {small_rate:.1f} sweeps/s = {small_rate * 1290:.3g} particle-sweeps/s")
    s_sweeps, s_q, _ = overlap_trace(small, 100, 200_000, 120.0)
    crossed = s_q[-1] < THRESHOLD
    print(f"small box: Q < 1/e after {'' if crossed else '>'}{s_sweeps[-1]} sweeps")

    tiled = tile_configuration(equilibrium, args.tiles)
    ordered, _ = spatially_ordered(tiled)
    n = tiled.n_particles
    rates = {}
    for name, config in (("tile order", tiled), ("spatially ordered", ordered)):
        chain = SwapMonteCarlo(config, SYSTEM, params, seed=12)
        chain.run(1)
        rates[name] = 5 / best_of(lambda c=chain: c.run(5), 2)
        print(f"N = {n} ({name}): {rates[name]:.3f} sweeps/s = {rates[name] * n:.3g} particle-sweeps/s")

    chain = SwapMonteCarlo(ordered, SYSTEM, params, seed=13)
    t_sweeps, t_q, elapsed = overlap_trace(chain, 25, 10**9, args.budget)
    sweeps, q = np.array(t_sweeps, float), np.array(t_q)
    rate = sweeps[-1] / elapsed
    marks = ", ".join(f"{int(s)}: {v:.3f}" for s, v in list(zip(sweeps, q, strict=True))[:: max(1, len(q) // 8)])
    print(f"tiled box: Q(sweeps) {marks}; last {int(sweeps[-1])}: {q[-1]:.3f} ({elapsed:.0f} s)")
    if q[-1] < THRESHOLD:
        print(f"tiled box: Q < 1/e after {int(sweeps[-1])} sweeps, {elapsed:.0f} s measured")
    else:
        tau, beta = stretched_exponential_tau(sweeps, q)
        print(
            f"tiled box: Q still {q[-1]:.3f} after {elapsed:.0f} s; EXTRAPOLATED from Q = exp(−(s/τ)^β) fitted to "
            f"the measured decay: τ = {tau:.0f} sweeps (β = {beta:.2f}) ≈ {tau / rate:.0f} s at {rate:.2f} sweeps/s "
            f"(small box measured: {'' if crossed else '>'}{s_sweeps[-1]} sweeps ≈ {s_sweeps[-1] / rate:.0f} s)"
        )
    best = rates["spatially ordered"]
    print(f"RESULT tiled_swap_mc_sweeps_per_second {best:.3f} sweeps/s ratio={best * n / (small_rate * 1290):.3f}")


if __name__ == "__main__":
    main()
