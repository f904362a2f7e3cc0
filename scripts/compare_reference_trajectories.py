"""Validation (not a CI test): this platform's MD against isoconfigurational trajectories from elsewhere.

Input: folders of LAMMPS text dumps (``ITEM: ATOMS type xu yu``, square box, one file per replica of
one start configuration, all with the same frame steps), e.g. the example trajectories of the
GlassMLP reference code (``data/Cnf-*/1.xyz, 2.xyz`` of GerhardJung/StructDynGlass: ka2d_ternary,
N = 1290). For each folder the script starts ``--replicas`` MD runs of its own (isoconfigurational
template, Nosé–Hoover NVT at ``--temperature``) from the dump's first frame, writes frames at the
dump's own steps up to ``--frames``, and prints, averaged over configurations and replicas, for the
reference and for this platform side by side:

- ⟨C_B⟩(t), the bond-breaking correlation (1.4σ/1.8σ rule, glass_core.dynamics.propensity);
- the cage-relative mean squared displacement (1/N) Σ_i |d_i − d̄_i|² (Voronoi cages of the start);
- the mean squared displacement.

Same start, same observables: agreement says the two MD codes run the same model at the same
temperature, whatever either calls τ_α. Also printed: the reference's own ⟨C_B⟩ over all its frames
and its τ_α (⟨C_B⟩ = 1/e) if reached, and E_pot − E_IS of its first frame where a ``*_inherent.xyz``
dump sits beside it (≈ T per particle for a harmonic 2D solid: a temperature estimate).

    .venv/bin/python scripts/compare_reference_trajectories.py REF/Cnf-100000 REF/Cnf-200000 \\
        --temperature 0.23 --frames 32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from glass_core.dynamics.propensity import (
    bond_survival,
    cage_relative_displacements,
    initial_bonds,
    mean_over_particles,
    relaxation_time,
    voronoi_cage_matrix,
)
from glass_core.models.configuration import Configuration
from glass_core.models.energy import potential_energy
from glass_core.models.systems import get_system
from glass_core.simulation.isoconfigurational import IsoconfigurationalProtocol, run_isoconfigurational


def read_dump(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Steps (T,), types (N,) 0-based, positions (T, N, 2) and box side of a ``type xu yu`` text dump."""
    lines = path.read_text().splitlines()
    steps, frames, i = [], [], 0
    while i < len(lines) and lines[i].startswith("ITEM: TIMESTEP"):
        n = int(lines[i + 3])
        lo, hi = (float(v) for v in lines[i + 5].split()[:2])
        if not lines[i + 8].split()[2:5] == ["type", "xu", "yu"]:
            raise ValueError(f"{path}: expected 'ITEM: ATOMS type xu yu', got {lines[i + 8]!r}")
        steps.append(int(lines[i + 1]))
        frames.append(np.array([row.split()[:3] for row in lines[i + 9 : i + 9 + n]], dtype=np.float64))
        i += 9 + n
    data = np.stack(frames)
    return np.asarray(steps), data[0, :, 0].astype(np.int64) - 1, data[:, :, 1:3], hi - lo


def observables(positions: np.ndarray, types: np.ndarray, side: float, system_name: str) -> np.ndarray:
    """(3, T) ⟨C_B⟩, cage-relative MSD and MSD of R replicas (R, T, N, 2) sharing frame 0."""
    system = get_system(system_name)
    box = (side, side)
    start = Configuration(positions[0, 0], types, box, system_name).wrapped()
    cage = voronoi_cage_matrix(start)
    bonds = initial_bonds(positions[0, 0], types, box, system.sigma)
    out = []
    for replica in positions:
        relative = cage_relative_displacements(replica, cage)
        out.append(
            [
                mean_over_particles(bond_survival(replica, bonds, box)),
                np.einsum("tnk,tnk->tn", relative, relative).mean(axis=1),
                ((replica - replica[0]) ** 2).sum(-1).mean(-1),
            ]
        )
    return np.mean(out, axis=0)


def platform_run(job: tuple[str, np.ndarray, np.ndarray, float, IsoconfigurationalProtocol, str]) -> np.ndarray:
    system_name, start, types, side, protocol, workdir = job
    config = Configuration(start, types, (side, side), system_name)
    seeds = [7 + r for r in range(protocol.n_replicas)]
    trajectories = run_isoconfigurational(config, get_system(system_name), protocol, seeds, workdir)
    return observables(trajectories.positions, types, side, system_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="one folder of replica dumps per configuration")
    parser.add_argument("--system", default="ka2d_ternary")
    parser.add_argument("--temperature", type=float, required=True)
    parser.add_argument("--frames", type=int, default=20, help="frames of the reference to reproduce")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    system = get_system(args.system)

    references, jobs, long_curves = [], [], []
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for k, folder in enumerate(args.folders):
            dumps = sorted(p for p in folder.glob("*.xyz") if not p.stem.endswith("_inherent"))
            read = [read_dump(p) for p in dumps]
            steps, types, _, side = read[0]
            positions = np.stack([r[2] for r in read])
            reference = observables(positions, types, side, args.system)  # every frame, once
            long_curves.append(reference[0])
            references.append(reference[:, : args.frames])
            first = Configuration(positions[0, 0], types, (side, side), args.system).wrapped()
            line = f"{folder}: {len(dumps)} replicas, N = {len(types)}, L = {side:.4f}, frames to step {steps[-1]}"
            inherent = sorted(folder.glob("*_inherent.xyz"))
            if inherent:
                _, _, minimum, _ = read_dump(inherent[0])
                e_is = potential_energy(
                    Configuration(minimum[0], types, (side, side), args.system).wrapped(), system
                ).mean
                e_pot = potential_energy(first, system).mean
                line += f"; E_pot/N {e_pot:.4f}, E_IS/N {e_is:.4f}, difference {e_pot - e_is:.4f}"
            print(line)
            protocol = IsoconfigurationalProtocol(
                args.temperature, args.replicas, tuple(int(s) for s in steps[: args.frames]), "nvt"
            )
            jobs.append((args.system, positions[0, 0], types, side, protocol, f"{scratch}/{k}"))
        with ProcessPoolExecutor(args.workers) as pool:
            ours = list(pool.map(platform_run, jobs))
    reference, platform = np.mean(references, axis=0), np.mean(ours, axis=0)
    times = steps[: args.frames] * system.md_timestep
    print(f"\nplatform MD at T = {args.temperature}, {args.replicas} replicas per configuration")
    print(f"{'t':>10} | {'C_B ref':>8} {'C_B here':>8} | {'cage MSD ref':>12} {'here':>8} | {'MSD ref':>8} {'here':>8}")
    for k, t in enumerate(times):
        ref, here = reference[:, k], platform[:, k]
        print(
            f"{t:10.2f} | {ref[0]:8.4f} {here[0]:8.4f} | {ref[1]:12.5f} {here[1]:8.5f} | {ref[2]:8.4f} {here[2]:8.4f}"
        )
    curve = np.mean(long_curves, axis=0)
    full_times = steps * system.md_timestep
    tau = relaxation_time(full_times, curve)
    found = f"τ_α = {tau:.4g}" if tau is not None else f"⟨C_B⟩ = {curve[-1]:.3f} at t = {full_times[-1]:.4g}"
    print(f"\nreference over its whole run: {found}; wall {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
