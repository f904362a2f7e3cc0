"""GlassBench KA2D isoconfigurational samples [R], and their bond-breaking propensity by the platform.

GlassBench (Zenodo 10118191, the data of the roadmap [R]) stores for the ternary 2D KA liquid
(``ka2d_ternary``, N = 1290, box 32.8962) one ``.npz`` per structure and time: the shared start of 20
isoconfigurational MD runs and the 20 replica positions at one time. The files read here are those
members as re-packaged (one file per member, keys unchanged plus provenance) in the public repository
``cc-chen-tech/renewal-cage-arxiv``, ``data/third_party/glassbench/particle_cache/``. Keys:

- ``positions`` (R = 20, N, 2): replica positions at the file's time;
- ``initial_positions`` (N, 2): the shared thermal start configuration;
- ``initial_positions_inherent`` (N, 2), or an empty array where GlassBench has none (the T = 0.30 files);
- ``types`` (N,) in 1 … 3 (A, B, C); ``box`` scalar side (or (2,) sides);
- ``temperature`` (string or number); optional provenance ``system_id``, ``source_path``,
  ``first_npz_member`` (the GlassBench member, e.g. ``T0.23/test/N1290T0.23_151_tc20.npz``).

No file holds the time itself: GlassBench encodes it by the ``tcNN`` code of the member name, which
:data:`GLASSBENCH_KA2D_TIMES` maps to LJ time per temperature (the table of GlassBench's KA2D README;
its T = 0.30 entries 158.74 / 1781.79 / 20000 are the times of [R]'s Pearson benchmarks). The code is
read from ``first_npz_member`` and else from the file name; an unknown code leaves ``time`` ``None``.

Wrapping differs between files: in the T = 0.23 files start and replicas are unwrapped and continuous
(about [−43, 43] for a box of 32.9), in the T = 0.30 files they are wrapped into [−L/2, L/2), so a
particle that crossed the edge jumps by L. :meth:`GlassBenchSample.unwrapped_replicas` therefore
rebuilds each replica by minimum image relative to the start, r(0) + mi(r(t) − r(0)), exact for both
while every true displacement is below L/2 (16.4; at T = 0.23 even t = 1.5×10⁶ keeps ⟨C_B⟩ ≈ 0.74, so
displacements stay far below). The bond-breaking propensity needs no unwrapping at all:
:func:`glass_core.dynamics.propensity.bond_survival` measures every bond at its minimum-image length, at t = 0
and at t.

References: [R] (GlassBench data: Zenodo 10118191); [G] (bond-breaking propensity; KA2D data).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glass_core.dynamics.propensity import BOND_INNER, BOND_OUTER, bond_breaking_propensity, initial_bonds
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem

__all__ = [
    "GLASSBENCH_KA2D_TIMES",
    "GlassBenchFormatError",
    "GlassBenchSample",
    "find_glassbench_files",
    "glassbench_bond_breaking",
    "glassbench_file_temperature",
    "glassbench_time",
    "load_glassbench_file",
]

GLASSBENCH_KA2D_TIMES: dict[str, dict[str, float]] = {
    "0.23": {
        "tc05": 0.1,
        "tc10": 1.1,
        "tc15": 11.64,
        "tc20": 122.47,
        "tc25": 1288.41,
        "tc30": 13554.0,
        "tc35": 142587.0,
        "tc40": 1500000.0,
    },
    "0.30": {"tc01": 0.11, "tc02": 1.25, "tc03": 14.14, "tc04": 158.74, "tc05": 1781.79, "tc06": 20000.0},
}
"""LJ time of each GlassBench KA2D time code, per temperature (GlassBench's KA2D trajectories README)."""

SYSTEM_NAME = "ka2d_ternary"
_TIME_CODE = re.compile(r"_(tc\d+)")
_NAME_TEMPERATURE = re.compile(r"T(\d+(?:[._]\d+)?)")


class GlassBenchFormatError(ValueError):
    """A GlassBench file lacks a key or holds an array of the wrong shape, type or range."""


@dataclass(frozen=True)
class GlassBenchSample:
    """One GlassBench isoconfigurational sample: a start configuration and R replicas at one time.

    Attributes:
        equilibrium: the thermal start configuration (types 0-based, positions wrapped into the box).
        inherent: its inherent structure, or ``None`` where the file has none.
        replica_positions: (R, N, 2) float64 replica positions at ``time``, as stored (not wrapped).
        initial_positions: (N, 2) float64 start positions as stored (same frame as the replicas).
        time: LJ time since the start, or ``None`` when the time code is unknown.
        temperature: the run temperature.
        source: the file read, and the GlassBench member when recorded.
    """

    equilibrium: Configuration
    inherent: Configuration | None
    replica_positions: np.ndarray
    initial_positions: np.ndarray
    time: float | None
    temperature: float
    source: str

    @property
    def n_replicas(self) -> int:
        return int(self.replica_positions.shape[0])

    def unwrapped_replicas(self) -> np.ndarray:
        """(R, N, 2) r(0) + mi(r(t) − r(0)): continuous with the start; exact while |displacement| < L/2."""
        box = np.asarray(self.equilibrium.box)
        delta = self.replica_positions - self.initial_positions[None]
        return self.initial_positions[None] + delta - box * np.round(delta / box)


def glassbench_time(temperature: str | float, member: str) -> float | None:
    """LJ time of a GlassBench KA2D member name (``…_tcNN…``) at ``temperature``; ``None`` if unknown."""
    match = _TIME_CODE.search(member)
    table = GLASSBENCH_KA2D_TIMES.get(f"{float(temperature):.2f}")
    if match is None or table is None:
        return None
    return table.get(match.group(1))


def glassbench_file_temperature(path: str | os.PathLike[str]) -> float | None:
    """Temperature of a GlassBench ``.npz`` without reading its arrays: the ``temperature`` key, else the
    ``T0.23`` (or ``T0_23``) of the file name; ``None`` when neither gives a number (the loader names why)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            text = _scalar_text(data, "temperature")
        if text is not None:
            return float(text)
    except (OSError, ValueError, KeyError):
        pass
    match = _NAME_TEMPERATURE.search(path.stem)
    return float(match.group(1).replace("_", ".")) if match else None


def find_glassbench_files(folder: str | os.PathLike[str], temperature: float) -> list[Path]:
    """The ``*.npz`` files of ``folder`` (not recursive) at ``temperature`` (|ΔT| < 1e-9), sorted by name."""
    found = []
    for path in sorted(Path(folder).glob("*.npz")):
        value = glassbench_file_temperature(path)
        if value is not None and abs(value - float(temperature)) < 1e-9:
            found.append(path)
    return found


def _require(data: np.lib.npyio.NpzFile, key: str, name: str) -> np.ndarray:
    if key not in data.files:
        raise GlassBenchFormatError(f"{name}: missing key {key!r} (has {sorted(data.files)})")
    return data[key]


def _check_positions(array: np.ndarray, shape: tuple[int, ...], key: str, name: str) -> np.ndarray:
    if array.shape != shape or not np.issubdtype(array.dtype, np.floating):
        raise GlassBenchFormatError(f"{name}: {key!r} must be float of shape {shape}, got {array.dtype} {array.shape}")
    if not np.all(np.isfinite(array)):
        raise GlassBenchFormatError(f"{name}: {key!r} holds non-finite values")
    return np.asarray(array, dtype=np.float64)


def _read_box(data: np.lib.npyio.NpzFile, name: str) -> tuple[float, float]:
    box = np.asarray(_require(data, "box", name), dtype=np.float64).reshape(-1)
    if box.size == 1:
        box = np.repeat(box, 2)
    if box.size != 2 or not np.all(np.isfinite(box)) or np.any(box <= 0):
        raise GlassBenchFormatError(f"{name}: 'box' must be one positive side or (Lx, Ly), got {box}")
    return float(box[0]), float(box[1])


def _read_types(data: np.lib.npyio.NpzFile, n: int, n_types: int, name: str) -> np.ndarray:
    types = _require(data, "types", name)
    if types.shape != (n,) or not np.issubdtype(types.dtype, np.integer):
        raise GlassBenchFormatError(
            f"{name}: 'types' must be integers of shape ({n},), got {types.dtype} {types.shape}"
        )
    if types.min() < 1 or types.max() > n_types:
        raise GlassBenchFormatError(
            f"{name}: 'types' must lie in 1 … {n_types} (GlassBench numbers types from 1), "
            f"got {types.min()} … {types.max()}"
        )
    return types.astype(np.int64) - 1


def _scalar_text(data: np.lib.npyio.NpzFile, key: str) -> str | None:
    return str(data[key].item()) if key in data.files and data[key].shape == () else None


def load_glassbench_file(path: str | os.PathLike[str], n_types: int = 3) -> GlassBenchSample:
    """Read and validate one GlassBench KA2D isoconfigurational ``.npz`` (keys in the module doc).

    Raises :class:`GlassBenchFormatError` naming the file and the key for a missing key, a wrong
    shape or dtype, types outside 1 … ``n_types``, a non-positive box or non-finite positions.
    """
    path = Path(path)
    name = str(path)
    with np.load(path, allow_pickle=False) as data:
        initial = _require(data, "initial_positions", name)
        if initial.ndim != 2:
            raise GlassBenchFormatError(f"{name}: 'initial_positions' must have shape (N, 2), got {initial.shape}")
        n = initial.shape[0]
        initial = _check_positions(initial, (n, 2), "initial_positions", name)
        replicas = _require(data, "positions", name)
        if replicas.ndim != 3:
            raise GlassBenchFormatError(f"{name}: 'positions' must have shape (R, {n}, 2), got {replicas.shape}")
        replicas = _check_positions(replicas, (replicas.shape[0], n, 2), "positions", name)
        if replicas.shape[0] == 0:
            raise GlassBenchFormatError(f"{name}: 'positions' holds no replica")
        box = _read_box(data, name)
        types = _read_types(data, n, n_types, name)
        inherent_raw = data["initial_positions_inherent"] if "initial_positions_inherent" in data.files else None
        inherent_positions = None
        if inherent_raw is not None and inherent_raw.size:
            inherent_positions = _check_positions(inherent_raw, (n, 2), "initial_positions_inherent", name)
        temperature_text = _scalar_text(data, "temperature")
        if temperature_text is None:
            raise GlassBenchFormatError(f"{name}: missing scalar key 'temperature'")
        try:
            temperature = float(temperature_text)
        except ValueError:
            raise GlassBenchFormatError(f"{name}: 'temperature' is not a number: {temperature_text!r}") from None
        member = _scalar_text(data, "first_npz_member")
    time = glassbench_time(temperature, member or path.name)
    metadata = {"source": name, "glassbench_member": member, "temperature": temperature, "time": time}
    equilibrium = Configuration(initial, types, box, SYSTEM_NAME, dict(metadata)).wrapped()
    inherent = None
    if inherent_positions is not None:
        inherent = Configuration(inherent_positions, types.copy(), box, SYSTEM_NAME, dict(metadata)).wrapped()
    source = f"{name} ({member})" if member else name
    return GlassBenchSample(equilibrium, inherent, replicas, initial, time, temperature, source)


def glassbench_bond_breaking(
    sample: GlassBenchSample,
    system: ModelSystem,
    inner: float = BOND_INNER,
    outer: float = BOND_OUTER,
) -> np.ndarray:
    """(N,) bond-breaking propensity ⟨C_B^i(t)⟩_iso of a GlassBench sample [G], platform functions.

    Bonds r_ij < ``inner`` σ_ij of the thermal start (:func:`~glass_core.dynamics.propensity.initial_bonds`),
    intact while r_ij(t) < ``outer`` σ_ij in each replica; averaged over the R replicas. NaN where a
    particle has no bond at t = 0. Minimum-image bond lengths make wrapping irrelevant.
    """
    if system.n_types <= int(sample.equilibrium.types.max()):
        raise ValueError(f"system {system.name!r} has {system.n_types} types; the sample needs more")
    bonds = initial_bonds(
        sample.initial_positions, sample.equilibrium.types, sample.equilibrium.box, system.sigma, inner, outer
    )
    frames = sample.replica_positions[:, None]  # (R, T = 1, N, 2)
    return bond_breaking_propensity(frames, bonds, sample.equilibrium.box, outer)[0]
