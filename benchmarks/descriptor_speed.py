"""Time of the structural descriptors of one N = 2000 configuration, against freud's Voronoi alone.

Per configuration: the Voronoi tessellation (areas Υ and neighbours), the Tong–Tanaka Θ, both fields
coarse-grained with ξ = 3 in one pass and min–max normalised, as [O] compares them. The baseline is
``freud.locality.Voronoi().compute`` on the same points, measured in the same run. Target: ratio ≤ 3.

Configurations: jittered square lattices at the ABM density (random, no overlaps; no MD needed).

    .venv/bin/python benchmarks/descriptor_speed.py [--n 2000] [--configs 5] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from timing import best_of

from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import jittered_lattice
from glass_core.models.systems import get_system
from glass_core.structure.coarse_graining import coarse_grain, minmax_normalise
from glass_core.structure.tong_tanaka import additive_radii, tong_tanaka
from glass_core.structure.voronoi import voronoi_cells


def descriptors(config: Configuration, radii: np.ndarray, xi: float) -> np.ndarray:
    cells = voronoi_cells(config)
    theta = tong_tanaka(config, radii, cells)
    return minmax_normalise(coarse_grain(config, np.stack([cells.areas, theta], axis=1), xi))


def freud_voronoi(config: Configuration) -> None:
    import freud

    freud.locality.Voronoi().compute((config.freud_box(), config.freud_points()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--configs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--system", default="abm")
    args = parser.parse_args()

    configs = [jittered_lattice(args.system, args.n, seed) for seed in range(args.configs)]
    radii = additive_radii(get_system(args.system))
    descriptors(configs[0], radii, 3.0)  # compile the numba kernels
    freud_voronoi(configs[0])

    ours, baseline = [], []
    for config in configs:  # interleaved, so load from other processes hits both alike
        baseline.append(best_of(lambda c=config: freud_voronoi(c), args.repeats))
        ours.append(best_of(lambda c=config: descriptors(c, radii, 3.0), args.repeats))
    ours_ms, base_ms = 1e3 * statistics.median(ours), 1e3 * statistics.median(baseline)
    print(f"system={args.system} N={args.n} configurations={args.configs} best of {args.repeats}, median over configs")
    print(f"freud Voronoi alone: {base_ms:.2f} ms")
    print(f"Υ + Θ + coarse graining (ξ=3) + normalisation: {ours_ms:.2f} ms")
    print(f"RESULT descriptor_time_per_config {ours_ms:.2f} ms ratio={ours_ms / base_ms:.2f}")


if __name__ == "__main__":
    main()
