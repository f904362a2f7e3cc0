"""Inherent structures: the local potential-energy minimum reached from a configuration.

The inherent structure of x is the minimum of E = Σ_{i<j} V(r_ij) found by steepest-descent-like
minimisation from x [SW82]. [G] and [J] compute their physics-inspired descriptors on inherent structures.

LAMMPS minimises (``lammps_inputs/minimise.lmp``) in three stages:

1. FIRE [FIRE06], robust far from the minimum, until the 2-norm of the
   2N-component force vector, |F|₂ = (Σ_i |F_i|²)^½, is below ``fire_tolerance``;
2. conjugate gradients (CG) down to |F|₂ < ``force_tolerance``; stages 1–2 use the fast
   ``coarse_style`` potential (``table``: cubic-spline interpolation on 2 000 points, per-particle energy
   error ≈ 4×10⁻⁹; linear interpolation, 2.6×10⁻⁴, lets CG's line search stall far from the minimum);
3. CG with the ``style`` potential (default: the exact formula, ``lepton``) down to ``force_tolerance``,
   a few iterations from the nearby table minimum. The result is a minimum of the same energy
   function :mod:`glass_core.models.energy` evaluates.

Each stage also stops at a relative energy change below ``energy_tolerance`` or after
``max_iterations``. Why this split (measured here, one core): LAMMPS ``pair_style lepton`` parses and
compiles its expressions inside every force call (``PairLepton::eval``; ≈ 8 ms per call whatever N),
so a minimisation with it alone takes 8 s for N = 100 and 43 s for N = 1290 (with the table stages:
1.4 s and 4.5 s). On an N = 1290 swap-MC configuration at T = 0.3, FIRE alone needs ≈ 9 400 iterations
to reach |F|₂ < 10⁻⁴ (≈ 25 000 to 10⁻¹⁰), FIRE to 1 then CG to 10⁻⁸ ≈ 2 100, CG alone ≈ 1 000 but into a
different, higher minimum; FIRE stopped at 1, 0.1 or 10⁻⁴ and then polished reaches the same minimum,
so the inherent structure is defined by FIRE's basin.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.files import atomic_savez, atomic_write_text, item_result_path, item_workdir
from glass_core.models.configuration import Configuration, load_configuration
from glass_core.models.systems import ModelSystem, get_system
from glass_core.simulation.lammps_driver import pair_block, run_input

__all__ = ["InherentStructure", "minimise", "minimise_item"]


@dataclass(frozen=True)
class InherentStructure:
    """A minimised configuration and how well it is minimised.

    Attributes:
        configuration: the minimum (positions wrapped into the box, types unchanged; metadata notes the
            minimisation).
        energy: total potential energy E at the minimum (LJ units).
        per_particle: (N,) E_i = ½ Σ_j V(r_ij) at the minimum (LAMMPS ``pe/atom``).
        initial_energy: E of the input configuration.
        force_norm: |F|₂ = (Σ_i |F_i|²)^½ at the minimum.
        max_force: max_i |F_i| at the minimum.
        iterations: minimiser iterations used (all stages).
        converged: whether ``force_norm`` ≤ the requested tolerance.
    """

    configuration: Configuration
    energy: float
    per_particle: np.ndarray
    initial_energy: float
    force_norm: float
    max_force: float
    iterations: int
    converged: bool

    @property
    def energy_per_particle(self) -> float:
        return self.energy / self.configuration.n_particles


def minimise(
    config: Configuration,
    system: ModelSystem,
    force_tolerance: float = 1e-8,
    energy_tolerance: float = 0.0,
    max_iterations: int = 100_000,
    style: str = "exact",
    workdir: Path | None = None,
    fire_tolerance: float = 1.0,
    coarse_style: str = "table",
) -> InherentStructure:
    """Minimise the potential energy of ``config`` with LAMMPS (FIRE, then CG); see the module docstring.

    ``force_tolerance`` bounds |F|₂ (not the largest single force, which is ≤ |F|₂); ``fire_tolerance``
    is where FIRE hands over to CG (set it ≤ ``force_tolerance`` for FIRE alone). ``energy_tolerance``
    = 0 disables the energy criterion. ``style`` (the potential minimised in the end) and
    ``coarse_style`` (stages 1–2): ``exact`` or ``table`` (see :func:`glass_core.simulation.lammps_driver.pair_block`).
    ``workdir`` keeps the input files; by default a temporary directory is used and removed.
    """
    if force_tolerance <= 0 or max_iterations < 1:
        raise ValueError("force_tolerance must be positive and max_iterations at least 1")
    tolerances = (force_tolerance, max(fire_tolerance, force_tolerance), energy_tolerance)
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="minimise-") as tmp:
            return _minimise(config, system, tolerances, max_iterations, (style, coarse_style), Path(tmp))
    return _minimise(config, system, tolerances, max_iterations, (style, coarse_style), Path(workdir))


def _minimise(
    config: Configuration,
    system: ModelSystem,
    tolerances: tuple[float, float, float],
    max_iterations: int,
    styles: tuple[str, str],
    workdir: Path,
) -> InherentStructure:
    force_tolerance, fire_tolerance, energy_tolerance = tolerances
    style, coarse_style = styles
    workdir.mkdir(parents=True, exist_ok=True)
    data = config.write(workdir / "start.data", system.type_names)
    pair, coarse_pair = workdir / "pair.lmp", workdir / "coarse_pair.lmp"
    atomic_write_text(pair, pair_block(system, style, table_file=workdir / "pair.table"))
    coarse_block = pair_block(system, coarse_style, table_file=workdir / "coarse.table", table_interpolation="spline")
    atomic_write_text(coarse_pair, coarse_block)
    variables = {
        "data_in": data,
        "pair_file": pair,
        "coarse_pair_file": coarse_pair,
        "dt": system.md_timestep,
        "etol": f"{energy_tolerance:.17g}",
        "fire_ftol": f"{fire_tolerance:.17g}",
        "ftol": f"{force_tolerance:.17g}",
        "maxiter": max_iterations,
        "maxeval": 10 * max_iterations,
    }
    lmp = run_input("minimise.lmp", variables, log_file=workdir / "minimise.log")
    try:
        n_local = int(lmp.extract_global("nlocal"))
        ids = np.asarray(lmp.numpy.extract_atom("id"), dtype=np.int64)[:n_local]
        order = np.argsort(ids)
        x = np.asarray(lmp.numpy.extract_atom("x"), dtype=float)[:n_local][order]
        forces = np.asarray(lmp.numpy.extract_atom("f"), dtype=float)[:n_local][order]
        per_particle = np.asarray(lmp.numpy.extract_compute("peatom", 1, 1), dtype=float)[:n_local][order]
        energy = float(lmp.extract_compute("epot", 0, 0))
        initial = float(lmp.extract_variable("e_initial"))
        iterations = int(lmp.extract_variable("iterations"))
        box_lo = np.asarray(lmp.extract_box()[0][:2], dtype=float)
    finally:
        lmp.close()
    if n_local != config.n_particles or not np.array_equal(ids[order], np.arange(1, config.n_particles + 1)):
        raise RuntimeError(f"LAMMPS returned {n_local} atoms, expected ids 1..{config.n_particles}")
    f2 = np.einsum("ij,ij->i", forces[:, :2], forces[:, :2])
    force_norm = float(np.sqrt(f2.sum()))
    metadata = dict(config.metadata) | {
        "inherent_structure": True,
        "minimiser": f"fire+cg ({coarse_style}), cg ({style})",
        "force_norm": force_norm,
        "pair_style": style,
    }
    minimum = Configuration(x[:, :2] - box_lo, config.types.copy(), config.box, config.system, metadata).wrapped()
    return InherentStructure(
        configuration=minimum,
        energy=energy,
        per_particle=per_particle,
        initial_energy=initial,
        force_norm=force_norm,
        max_force=float(np.sqrt(f2.max())),
        iterations=iterations,
        converged=force_norm <= force_tolerance,
    )


def minimise_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``"minimise"``: one stored configuration (``item["configuration"]``) → its inherent structure.

    ``params``: ``system``, ``force_tolerance``. Writes the minimum and its convergence record to
    ``out_dir/sample_XXXXXX.npz``.
    """
    system = get_system(params["system"])
    config = load_configuration(item["configuration"], system.name)
    result = minimise(
        config, system, force_tolerance=float(params["force_tolerance"]), workdir=item_workdir(out_dir, item)
    )
    atomic_savez(
        item_result_path(out_dir, item),
        positions=result.configuration.positions,
        types=result.configuration.types,
        box=np.asarray(result.configuration.box),
        energy=np.asarray(result.energy),
        initial_energy=np.asarray(result.initial_energy),
        force_norm=np.asarray(result.force_norm),
        max_force=np.asarray(result.max_force),
        iterations=np.asarray(result.iterations),
        converged=np.asarray(result.converged),
    )
    return {"force_norm": result.force_norm, "iterations": result.iterations}
