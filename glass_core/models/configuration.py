"""One configuration of a 2D periodic particle system, and its export to files OVITO opens.

Positions are stored wrapped into the box [0, Lx) × [0, Ly); types are 0-based indices into the
system's ``type_names``. The LAMMPS data file (``atom_style atomic``) and extended XYZ writers both
keep full double precision so a configuration read back gives the same energy to machine precision.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.files import atomic_write_text

__all__ = ["Configuration", "load_configuration", "minimum_image"]


@dataclass
class Configuration:
    """Positions, types and periodic box of one configuration.

    Attributes:
        positions: (N, 2) float64 coordinates in [0, L).
        types: (N,) int type indices (0 = A, 1 = B, …).
        box: (Lx, Ly) side lengths of the periodic rectangle.
        system: name of the model system (``abm``, ``kam``, ``ka2d_ternary``).
        metadata: free-form provenance (seed, temperature, protocol, …), JSON-serialisable.
    """

    positions: np.ndarray
    types: np.ndarray
    box: tuple[float, float]
    system: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        self.types = np.ascontiguousarray(self.types, dtype=np.int64)
        self.box = (float(self.box[0]), float(self.box[1]))
        if self.positions.ndim != 2 or self.positions.shape[1] != 2:
            raise ValueError(f"positions must have shape (N, 2), got {self.positions.shape}")
        if self.types.shape != (self.n_particles,):
            raise ValueError(f"types must have shape ({self.n_particles},), got {self.types.shape}")
        if min(self.box) <= 0:
            raise ValueError(f"box sides must be positive, got {self.box}")

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[0])

    @property
    def area(self) -> float:
        return self.box[0] * self.box[1]

    def wrapped(self) -> Configuration:
        """A copy with every position mapped into [0, L)."""
        box = np.asarray(self.box)
        positions = np.mod(self.positions, box)
        positions[positions >= box] -= box[np.nonzero(positions >= box)[1]]  # mod rounding at L
        return Configuration(positions, self.types.copy(), self.box, self.system, dict(self.metadata))

    def minimum_image(self, delta: np.ndarray) -> np.ndarray:
        """Map displacement vectors (…, 2) to their shortest periodic image in this box."""
        return minimum_image(delta, self.box)

    def freud_box(self) -> Any:  # a freud.box.Box; freud is imported lazily
        """The periodic box as a 2D ``freud.box.Box``."""
        import freud

        return freud.box.Box(Lx=self.box[0], Ly=self.box[1], is2D=True)

    def freud_points(self) -> np.ndarray:
        """(N, 3) positions wrapped into the box and centred on the origin, as freud expects."""
        box = np.asarray(self.box)
        points = np.zeros((self.n_particles, 3), dtype=np.float64)
        points[:, :2] = np.mod(self.positions, box) - 0.5 * box
        return points

    # ---------------------------------------------------------------- files
    def to_lammps_data(self, masses: int | None = None) -> str:
        """LAMMPS data file text (``atom_style atomic``, 2D, box [0, L), z ∈ [−0.5, 0.5])."""
        n_types = int(masses if masses is not None else self.types.max() + 1)
        lines = [
            f"LAMMPS data file: {self.system} {json.dumps(self.metadata, sort_keys=True, default=str)}",
            "",
            f"{self.n_particles} atoms",
            f"{n_types} atom types",
            "",
            f"0.0 {self.box[0]:.17g} xlo xhi",
            f"0.0 {self.box[1]:.17g} ylo yhi",
            "-0.5 0.5 zlo zhi",
            "",
            "Masses",
            "",
            *(f"{t + 1} 1.0" for t in range(n_types)),
            "",
            "Atoms # atomic",
            "",
        ]
        lines += [
            f"{i + 1} {t + 1} {x:.17g} {y:.17g} 0.0"
            for i, (t, (x, y)) in enumerate(zip(self.types, self.positions, strict=True))
        ]
        return "\n".join(lines) + "\n"

    def to_extxyz(self, type_names: tuple[str, ...] | None = None) -> str:
        """Extended XYZ text (OVITO, ASE): a 2D periodic lattice with zero-thickness z."""
        names = type_names or tuple(chr(ord("A") + t) for t in range(int(self.types.max()) + 1))
        lattice = f"{self.box[0]:.17g} 0.0 0.0 0.0 {self.box[1]:.17g} 0.0 0.0 0.0 1.0"
        header = f'Lattice="{lattice}" Properties=species:S:1:pos:R:3 pbc="T T F" system={self.system or "unknown"}'
        body = [f"{names[t]} {x:.17g} {y:.17g} 0.0" for t, (x, y) in zip(self.types, self.positions, strict=True)]
        return "\n".join([str(self.n_particles), header, *body]) + "\n"

    def write(self, path: str | os.PathLike[str], type_names: tuple[str, ...] | None = None) -> Path:
        """Write ``.data``/``.lmp`` (LAMMPS data) or ``.xyz``/``.extxyz`` (extended XYZ) atomically."""
        path = Path(path)
        if path.suffix in {".data", ".lmp"}:
            text = self.to_lammps_data(masses=len(type_names) if type_names else None)
        elif path.suffix in {".xyz", ".extxyz"}:
            text = self.to_extxyz(type_names)
        else:
            raise ValueError(f"unknown configuration format {path.suffix!r}: use .data, .lmp, .xyz or .extxyz")
        atomic_write_text(path, text)
        return path

    @classmethod
    def read_lammps_data(cls, path: str | os.PathLike[str], system: str = "") -> Configuration:
        """Read a 2D ``atom_style atomic`` data file written by LAMMPS or :meth:`to_lammps_data`.

        Atoms are returned sorted by atom id; positions are wrapped into the box.
        """
        lines = Path(path).read_text().splitlines()
        lo = np.zeros(2)
        hi = np.zeros(2)
        n_atoms = None
        atoms_at = None
        for k, line in enumerate(lines):
            words = line.split()
            if len(words) == 2 and words[1] == "atoms":
                n_atoms = int(words[0])
            elif len(words) >= 4 and words[2:4] == ["xlo", "xhi"]:
                lo[0], hi[0] = float(words[0]), float(words[1])
            elif len(words) >= 4 and words[2:4] == ["ylo", "yhi"]:
                lo[1], hi[1] = float(words[0]), float(words[1])
            elif words[:1] == ["Atoms"]:
                atoms_at = k + 2
                break
        if n_atoms is None or atoms_at is None:
            raise ValueError(f"{path}: not a LAMMPS data file with an Atoms section")
        rows = np.array([line.split()[:5] for line in lines[atoms_at : atoms_at + n_atoms]], dtype=float)
        rows = rows[np.argsort(rows[:, 0])]
        box = hi - lo
        positions = rows[:, 2:4] - lo
        config = cls(positions, rows[:, 1].astype(np.int64) - 1, (box[0], box[1]), system)
        return config.wrapped()


def minimum_image(delta: np.ndarray, box: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Displacements (…, 2) mapped to their shortest periodic image: ``d − L round(d / L)`` per axis.

    Exact for |d| < 1.5 L; a displacement of exactly ±L/2 keeps numpy's round-half-to-even choice.
    """
    box_arr = np.asarray(box, dtype=np.float64)
    return delta - box_arr * np.round(delta / box_arr)


def load_configuration(path: str | os.PathLike[str], system: str = "", frame: int | None = None) -> Configuration:
    """Read a configuration from a LAMMPS data file (``.data``/``.lmp``) or an ``.npz``.

    An ``.npz`` needs ``positions`` (N, 2) — or (S, N, 2) with ``frame`` choosing one — ``types`` and
    ``box``; this is what :meth:`glass_core.simulation.quench.QuenchResult.save` writes.
    """
    path = Path(path)
    if path.suffix in {".data", ".lmp"}:
        return Configuration.read_lammps_data(path, system)
    if path.suffix != ".npz":
        raise ValueError(f"unknown configuration file {path}: use .npz, .data or .lmp")
    with np.load(path) as data:
        positions = data["positions"]
        if positions.ndim == 3:
            if frame is None:
                raise ValueError(f"{path} holds {positions.shape[0]} configurations: choose one with 'frame'")
            positions = positions[frame]
        name = system or (str(data["system"]) if "system" in data.files else "")
        return Configuration(positions, data["types"], tuple(data["box"]), name).wrapped()
