"""Time of S4(q) of one N = 82 560 configuration: FINUFFT fast path against the direct sum.

One configuration of the 8 × 8-tiled ka2d_ternary box [G]/[J] use for ξ4 (N = 82 560, L = 8 × 32.8962
≈ 263.17): uniformly random positions and a random field (the cost does not depend on either). S4(q)
over all half-plane wave vectors with 0 < |q| ≤ 2 σ⁻¹ in shells of width 2π/L, by the non-uniform FFT
(``method="fast"``, ε = 1e-14, one thread and two threads) and by the direct sum over the same vectors
(numpy, chunked), measured in the same run; the two must agree to 1e-8. Goal: ≤ 1 s per configuration.

RESULT: fast-path seconds per configuration (best thread count), ratio fast/direct.

    .venv/bin/python benchmarks/s4_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timing import best_of

from glass_core.dynamics.four_point_structure_factor import four_point_structure_factor, wave_vectors
from glass_core.models.systems import get_system

N_TILED = 82_560


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--q-max", type=float, default=2.0)
    args = parser.parse_args()

    length = get_system("ka2d_ternary").box_length(N_TILED)
    box = (length, length)
    rng = np.random.default_rng(7)
    positions = rng.uniform(0.0, length, (N_TILED, 2))
    field = rng.uniform(0.0, 1.0, N_TILED)
    vectors = wave_vectors(box, args.q_max)
    print(
        f"N = {N_TILED}, L = {length:.3f}, {vectors.q.shape[0]} half-plane wave vectors with |q| ≤ {args.q_max} "
        f"in {vectors.shell_q.size} shells"
    )

    def run(method: str, threads: int | None = 1):
        return four_point_structure_factor(positions, field, box, args.q_max, method=method, n_threads=threads)

    run("fast")  # load FINUFFT
    fast = {threads: best_of(lambda t=threads: run("fast", t), args.repeats) for threads in (1, 2)}
    for threads, seconds in fast.items():
        print(f"fast path (FINUFFT, {threads} thread{'s' if threads > 1 else ''}): {seconds:.3f} s")
    start = time.perf_counter()
    reference = run("direct")  # once: it takes minutes
    direct = time.perf_counter() - start
    print(f"direct sum: {direct:.2f} s")

    a, b = run("fast").s4, reference.s4
    deviation = float(np.max(np.abs(a / b - 1.0)))
    print(f"max relative deviation fast vs direct over shells: {deviation:.2e} (must be ≤ 1e-8)")
    if deviation > 1e-8:
        raise SystemExit("fast path and direct sum disagree")
    best = min(fast.values())
    print(f"RESULT s4_per_configuration {best:.3f} s ratio={best / direct:.3g}")


if __name__ == "__main__":
    main()
