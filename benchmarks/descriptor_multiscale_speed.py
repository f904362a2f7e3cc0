"""Time of the GlassMLP/tGlassMLP descriptors of one N = 1290 ka2d_ternary configuration, against freud's
plain Voronoi of the same configuration.

Full computation per configuration: per-particle energies, the radical-Voronoi perimeters (pyvoro2,
radii 0.5/0.44/0.47) and DEN/EPOT/PERI/VAR coarse-grained over ``DEFAULT_LENGTHS`` in 4 channels
(cut r < 20), as :func:`glass_core.structure.physics_descriptors.physics_inspired_descriptors`
returns them. Baseline: ``freud.locality.Voronoi().compute`` on the same points, in the same run.

Configuration: a jittered square lattice with the ternary composition 600:330:360 at density
1290/32.8962² ≈ 1.1921 (no MD needed; the cost does not depend on the structure).

    .venv/bin/python benchmarks/descriptor_multiscale_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse

from timing import best_of

from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import jittered_lattice
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import (
    DEFAULT_LENGTHS,
    DescriptorSpec,
    coarse_grained_fields,
    particle_energies,
    physics_inspired_descriptors,
    radical_voronoi_perimeters,
)


def freud_voronoi(config: Configuration) -> None:
    import freud

    freud.locality.Voronoi().compute((config.freud_box(), config.freud_points()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    system = get_system("ka2d_ternary")
    config = jittered_lattice(system.name, 1290, args.seed)
    spec = DescriptorSpec(DEFAULT_LENGTHS)
    features = physics_inspired_descriptors(config, system, spec)  # compile the numba kernel
    freud_voronoi(config)

    baseline = best_of(lambda: freud_voronoi(config), args.repeats)
    ours = best_of(lambda: physics_inspired_descriptors(config, system, spec), args.repeats)
    energies = particle_energies(config, system)
    radii = system.radical_voronoi_radii
    perimeters = radical_voronoi_perimeters(config, radii)
    parts = {
        "energies": best_of(lambda: particle_energies(config, system), args.repeats),
        "radical Voronoi perimeters": best_of(lambda: radical_voronoi_perimeters(config, radii), args.repeats),
        "coarse graining (all L, channels)": best_of(
            lambda: coarse_grained_fields(config, energies, perimeters, system.n_types, spec), args.repeats
        ),
    }
    print(f"ka2d_ternary N=1290 box={config.box[0]:.4f} lengths={spec.lengths} M={features.shape[1]}")
    print(f"best of {args.repeats}: freud plain Voronoi {1e3 * baseline:.1f} ms, descriptors {1e3 * ours:.1f} ms")
    for name, seconds in parts.items():
        print(f"  {name}: {1e3 * seconds:.1f} ms")
    print(f"RESULT mlp_descriptors_per_configuration {ours:.4f} s ratio={ours / baseline:.2f}")


if __name__ == "__main__":
    main()
