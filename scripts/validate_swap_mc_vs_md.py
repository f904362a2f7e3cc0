"""Validation (not a CI test): swap-MC equilibria agree with LAMMPS NVT MD where MD equilibrates.

For each temperature (default 0.5 and 0.4), N = 256 ka2d_ternary:

- swap MC (glass_core.simulation.swap_monte_carlo.sample_equilibria): random start, ``--mc-equilibration`` sweeps,
  then ``--samples`` configurations ``--mc-between`` sweeps apart;
- MD: Nosé–Hoover NVT (``pair_style table``, cubic spline on 2 000 points; T_damp = 0.5; time step ``--md-dt``) from an
  independent swap-MC configuration (other seed), ``--md-equilibration`` time units, then ``--samples``
  snapshots ``--md-between`` time units apart.

Compared on the same estimators: the potential energy per particle (exact numpy energy of every saved
configuration, glass_core.models.energy) and per type, with block-average errors (10 blocks); the total and
the six partial radial distribution functions g_ab(r) (freud.density.RDF; the partials test the type
arrangement that swaps sample), with per-bin block errors; and the configurational temperature
T_conf = ⟨Σ_i |∇_i U|²⟩ / ⟨Σ_i ∇_i² U⟩, which equals T in any canonical ensemble (Rugh, PRL 78, 772
(1997); Butler et al., JCP 109, 6519 (1998)) and so tests each sampler on its own, locally, without
waiting for slow modes. Velocity-Verlet MD samples a slightly hotter configurational ensemble than its
kinetic temperature at finite dt (measured here at T = 0.5: T_conf = 0.510 at dt = 0.01, 0.503 at
dt = 0.005, while swap MC gives 0.5005 ± 0.002), hence the default dt = 0.005.

    .venv/bin/python scripts/validate_swap_mc_vs_md.py [--temperatures 0.5 0.4] [--n 256] [--md-dt 0.005]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import freud
import numpy as np

from glass_core.files import atomic_write_text
from glass_core.models.configuration import Configuration
from glass_core.models.energy import neighbour_pairs, potential_energy
from glass_core.models.pair_potentials import SMOOTH_C2_COEFFICIENTS
from glass_core.models.systems import get_system
from glass_core.simulation.lammps_driver import open_session, pair_block
from glass_core.simulation.swap_monte_carlo import sample_equilibria

SYSTEM = get_system("ka2d_ternary")
N_BLOCKS = 10
R_MAX, BINS = 5.0, 100


def md_samples(
    start: Configuration,
    temperature: float,
    n_samples: int,
    equilibration: float,
    between: float,
    dt: float,
    seed: int,
    workdir: Path,
) -> list[Configuration]:
    """``n_samples`` NVT MD snapshots from ``start`` (times in LJ units)."""
    n = start.n_particles
    data = start.write(workdir / "start.data", SYSTEM.type_names)
    pair = workdir / "pair.lmp"
    block = pair_block(SYSTEM, "table", table_file=workdir / "pair.table", table_interpolation="spline")
    atomic_write_text(pair, block)
    lmp = open_session(data, pair)
    samples = []
    try:
        for command in (
            "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes", f"timestep {dt}",
            f"velocity all create {temperature} {seed} dist gaussian mom yes",
            f"fix nvt all nvt temp {temperature} {temperature} 0.5", "fix plane all enforce2d",
            "thermo_style custom step temp pe", "thermo 1000000", f"run {round(equilibration / dt)}",
        ):  # fmt: skip
            lmp.command(command)
        for _ in range(n_samples):
            lmp.command(f"run {round(between / dt)}")
            ids = np.asarray(lmp.numpy.extract_atom("id"))[:n]
            positions = np.empty((n, 2))
            positions[ids - 1] = np.asarray(lmp.numpy.extract_atom("x"))[:n, :2]
            samples.append(Configuration(positions, start.types, start.box, SYSTEM.name).wrapped())
    finally:
        lmp.close()
    return samples


def configurational_sums(config: Configuration) -> tuple[float, float]:
    """(Σ_i |∇_i U|², Σ_i ∇_i² U) for the C²-smooth LJ; in 2D ∇²V(r) = V″(r) + V′(r)/r per pair and end."""
    c0, c2, c4 = SMOOTH_C2_COEFFICIENTS
    i, j, _ = neighbour_pairs(config, SYSTEM.max_cutoff + 1e-3)
    d = config.minimum_image(config.positions[j] - config.positions[i])
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    s, e = SYSTEM.sigma[config.types[i], config.types[j]], SYSTEM.epsilon[config.types[i], config.types[j]]
    inside = r < SYSTEM.cutoff_factor * s
    i, j, d, r, s, e = i[inside], j[inside], d[inside], r[inside], s[inside], e[inside]
    v1 = 4 * e * (-12 * s**12 / r**13 + 6 * s**6 / r**7 + 2 * c2 * r / s**2 + 4 * c4 * r**3 / s**4)
    v2 = 4 * e * (156 * s**12 / r**14 - 42 * s**6 / r**8 + 2 * c2 / s**2 + 12 * c4 * r**2 / s**4)
    gradient = np.zeros_like(config.positions)
    pair_gradient = (v1 / r)[:, None] * d  # ∇_j V(r_ij); ∇_i V = −that
    np.add.at(gradient, j, pair_gradient)
    np.add.at(gradient, i, -pair_gradient)
    return float(np.sum(gradient**2)), float(2.0 * np.sum(v2 + v1 / r))


def block_mean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 0 and its standard error from N_BLOCKS block means."""
    usable = (len(values) // N_BLOCKS) * N_BLOCKS
    blocks = values[:usable].reshape(N_BLOCKS, -1, *values.shape[1:]).mean(axis=1)
    return values[:usable].mean(axis=0), blocks.std(axis=0, ddof=1) / np.sqrt(N_BLOCKS)


def observables(samples: list[Configuration]) -> dict[str, np.ndarray]:
    """Per sample: E/N, E_i averaged per type, total and partial g(r)."""
    out: dict[str, list[np.ndarray]] = {"E/N": [], "E_A": [], "E_B": [], "E_C": [], "conf": [], "g": []}
    pairs = list(itertools.combinations_with_replacement(range(SYSTEM.n_types), 2))
    for a, b in pairs:
        out[f"g_{SYSTEM.type_names[a]}{SYSTEM.type_names[b]}"] = []
    for config in samples:
        energy = potential_energy(config, SYSTEM)
        out["E/N"].append(np.asarray(energy.mean))
        for t, name in enumerate(SYSTEM.type_names):
            out[f"E_{name}"].append(np.asarray(energy.per_particle[config.types == t].mean()))
        out["conf"].append(np.asarray(configurational_sums(config)))
        box, points = config.freud_box(), config.freud_points()
        rdf = freud.density.RDF(bins=BINS, r_max=R_MAX)
        out["g"].append(rdf.compute(system=(box, points), reset=True).rdf.copy())
        for a, b in pairs:
            rdf = freud.density.RDF(bins=BINS, r_max=R_MAX)
            if a == b:  # without query points freud excludes each particle's pair with itself
                rdf.compute(system=(box, points[config.types == a]))
            else:
                rdf.compute(system=(box, points[config.types == b]), query_points=points[config.types == a])
            out[f"g_{SYSTEM.type_names[a]}{SYSTEM.type_names[b]}"].append(rdf.rdf.copy())
    return {key: np.asarray(value) for key, value in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 0.4])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--mc-equilibration", type=int, default=20_000)
    parser.add_argument("--mc-between", type=int, default=200)
    parser.add_argument("--md-equilibration", type=float, default=200.0, help="LJ time units")
    parser.add_argument("--md-between", type=float, default=10.0, help="LJ time units")
    parser.add_argument("--md-dt", type=float, default=0.005)
    args = parser.parse_args()
    r = freud.density.RDF(bins=BINS, r_max=R_MAX).bin_centers

    for temperature in args.temperatures:
        began = time.perf_counter()
        mc = sample_equilibria(SYSTEM, args.n, temperature, args.samples, args.mc_equilibration,
                               args.mc_between, seed=101)  # fmt: skip
        mc_seconds = time.perf_counter() - began
        began = time.perf_counter()
        md_start = sample_equilibria(SYSTEM, args.n, temperature, 1, args.mc_equilibration, 1, seed=202)
        with tempfile.TemporaryDirectory() as tmp:
            md = md_samples(md_start.configurations[0], temperature, args.samples, args.md_equilibration,
                            args.md_between, args.md_dt, 202, Path(tmp))  # fmt: skip
        md_seconds = time.perf_counter() - began
        ours, theirs = observables(mc.configurations), observables(md)
        print(
            f"\n=== ka2d_ternary N={args.n} T={temperature}: {args.samples} samples each; swap MC "
            f"{args.mc_equilibration}+{args.samples}x{args.mc_between} sweeps ({mc_seconds:.0f} s), MD "
            f"{args.md_equilibration:g}+{args.samples}x{args.md_between:g} time units, dt={args.md_dt} "
            f"({md_seconds:.0f} s)"
        )
        print(
            f"swap MC acceptance: displacement {mc.acceptance['displacement']:.3f}, A<->C "
            f"{mc.acceptance['swap_A_C']:.4f}, B<->C {mc.acceptance['swap_B_C']:.4f}; overlap between samples "
            f"{mc.overlaps.mean():.3f} (typed {mc.typed_overlaps.mean():.3f})"
        )
        print(f"{'quantity':8s} {'swap MC':>20s} {'MD':>20s} {'diff/sigma':>11s}")
        for key in ("E/N", "E_A", "E_B", "E_C"):
            (m1, e1), (m2, e2) = block_mean(ours[key]), block_mean(theirs[key])
            z = (m1 - m2) / np.hypot(e1, e2)
            print(f"{key:8s} {m1:12.5f} ± {e1:.5f} {m2:12.5f} ± {e2:.5f} {z:11.2f}")
        for name, sums in (("swap MC", ours["conf"]), ("MD", theirs["conf"])):
            blocks = np.array_split(sums, N_BLOCKS)
            t_blocks = [b[:, 0].sum() / b[:, 1].sum() for b in blocks]
            print(
                f"T_conf {name:8s} {sums[:, 0].sum() / sums[:, 1].sum():.5f} ± "
                f"{np.std(t_blocks, ddof=1) / np.sqrt(N_BLOCKS):.5f} (set T = {temperature})"
            )
        print(
            f"{'g(r)':8s} {'1st peak r, height (MC)':>26s} {'(MD)':>18s} {'max|dg|':>8s} {'max z':>6s} {'chi2/bin':>9s}"
        )
        for key in [k for k in ours if k.startswith("g")]:
            (g1, e1), (g2, e2) = block_mean(ours[key]), block_mean(theirs[key])
            sigma = np.hypot(e1, e2)
            valid = sigma > 0
            z = np.abs(g1 - g2)[valid] / sigma[valid]
            p1, p2 = int(np.argmax(g1)), int(np.argmax(g2))
            print(
                f"{key:8s} {r[p1]:12.3f} {g1[p1]:12.3f} {r[p2]:9.3f} {g2[p2]:8.3f} {np.abs(g1 - g2).max():8.3f} "
                f"{z.max():6.2f} {np.mean(z**2):9.2f}"
            )


if __name__ == "__main__":
    main()
