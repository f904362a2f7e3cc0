"""Quenched ensembles: the cooling protocol of Oyama, Koyama & Kawasaki [O], run by LAMMPS.

One quench run: random start (random sequential addition, then a FIRE minimisation removes the
remaining close contacts) → NVT equilibration at T_high = 4.0 → Nosé–Hoover NVT cooling at a constant
rate γ from T_high to the target T (duration (T_high − T)/γ) → a short hold at T, over which the
kinetic-temperature check averages → the final configuration. [O] cools at γ = 8.33×10⁻⁵ and takes
snapshots at T_L (liquid) and T_G = 0.05 (glass); here each (system, temperature) partition runs its
own quench to its temperature.

References: [O] §II.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.files import atomic_savez, atomic_write_text, item_result_path, item_workdir
from glass_core.models.configuration import Configuration
from glass_core.models.initial_configurations import random_configuration
from glass_core.models.systems import ModelSystem, get_system
from glass_core.simulation.lammps_driver import md_pair_style, pair_block, run_input

__all__ = ["PHASES", "QuenchProtocol", "QuenchResult", "hold_mean_temperature", "quench_item", "run_quench"]

#: Thermo log phases, in order; stored as integer codes in :attr:`QuenchResult.thermo`.
PHASES = ("equil", "cool", "hold")


@dataclass(frozen=True)
class QuenchProtocol:
    """Parameters of one quench run (LJ units).

    Attributes:
        t_high: equilibration temperature before cooling ([O]: 4.0).
        equilibration_time: NVT time at ``t_high``.
        cooling_rate: |dT/dt| of the linear ramp ([O]: 8.33e-5).
        hold_time: NVT time at the target temperature after the ramp.
        timestep: MD time step; ``None`` takes the system's.
        thermostat_damping: Nosé–Hoover relaxation time (LAMMPS ``Tdamp``), in time units.
        thermo_interval: steps between two points of the cooling curve.
        pair_style: how LAMMPS applies the potential during the MD (:func:`.lammps_driver.pair_block`):
            ``"exact"`` or ``"table"``; ``None`` picks ``table`` for the C²-smooth LJ (lepton runs ≈ 16×
            slower) and ``exact`` otherwise. The final energy is always computed with the exact form.
    """

    t_high: float = 4.0
    equilibration_time: float = 10.0
    cooling_rate: float = 8.33e-5
    hold_time: float = 5.0
    timestep: float | None = None
    thermostat_damping: float = 0.5
    thermo_interval: int = 100
    pair_style: str | None = None

    def __post_init__(self) -> None:
        if self.t_high <= 0 or self.cooling_rate <= 0:
            raise ValueError("t_high and cooling_rate must be positive")
        if self.equilibration_time < 0 or self.hold_time < 0:
            raise ValueError("equilibration_time and hold_time must not be negative")
        if self.thermo_interval < 1:
            raise ValueError("thermo_interval must be at least 1 step")
        if self.pair_style not in (None, "exact", "table"):
            raise ValueError(f"pair_style must be 'exact', 'table' or None, got {self.pair_style!r}")

    def resolved_pair_style(self, system: ModelSystem) -> str:
        return md_pair_style(system, self.pair_style)

    def steps(self, system: ModelSystem, temperature: float) -> dict[str, int]:
        """Number of MD steps in each phase for a quench of ``system`` to ``temperature``."""
        dt = self.timestep or system.md_timestep
        cool_time = abs(self.t_high - temperature) / self.cooling_rate
        return {
            "equil": max(1, round(self.equilibration_time / dt)),
            "cool": max(1, round(cool_time / dt)),
            "hold": max(1, round(self.hold_time / dt)),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuenchResult:
    """The outcome of one quench run.

    Attributes:
        configuration: final positions and types (metadata: system, temperature, seed).
        thermo: cooling curve, arrays ``phase`` (index into :data:`PHASES`), ``step``, ``time``,
            ``t_set`` (thermostat set point), ``temperature`` (kinetic), ``pe`` (energy per particle).
        lammps_energy: total potential energy LAMMPS computes for the stored configuration.
        md_steps: MD steps run (all phases).
        wall_seconds: wall time of the LAMMPS run (minimisation and MD).
    """

    configuration: Configuration
    thermo: dict[str, np.ndarray]
    lammps_energy: float
    md_steps: int
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        return self.md_steps / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def hold_mean_temperature(self) -> float:
        """Mean kinetic temperature over the second half of the hold at the target temperature.

        The first half is left out: after a fast ramp the kinetic temperature lags the set point and
        the Nosé–Hoover thermostat needs a few damping times to catch up.
        """
        return hold_mean_temperature(self.thermo)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Store as ``.npz`` through a temporary file and an atomic rename."""
        config = self.configuration
        return atomic_savez(
            path,
            positions=config.positions,
            types=config.types,
            box=np.asarray(config.box),
            system=np.asarray(config.system),
            lammps_energy=np.asarray(self.lammps_energy),
            md_steps=np.asarray(self.md_steps),
            wall_seconds=np.asarray(self.wall_seconds),
            **{f"thermo_{key}": value for key, value in self.thermo.items()},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QuenchResult:
        with np.load(path) as data:
            config = Configuration(data["positions"], data["types"], tuple(data["box"]), str(data["system"]))
            thermo = {key.removeprefix("thermo_"): data[key] for key in data.files if key.startswith("thermo_")}
            return cls(config, thermo, float(data["lammps_energy"]), int(data["md_steps"]), float(data["wall_seconds"]))


def hold_mean_temperature(thermo: dict[str, np.ndarray]) -> float:
    """Mean kinetic temperature over the second half of the hold phase of a cooling curve."""
    held = thermo["temperature"][thermo["phase"] == PHASES.index("hold")]
    if held.size == 0:
        raise ValueError("the cooling curve has no hold phase")
    return float(np.mean(held[held.size // 2 :]))


def _read_thermo(path: Path) -> dict[str, np.ndarray]:
    phases, rows = [], []
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        phases.append(PHASES.index(words[0]))
        rows.append([float(w) for w in words[1:6]])
    table = np.asarray(rows, dtype=float).reshape(-1, 5)
    return {
        "phase": np.asarray(phases, dtype=np.int8),
        "step": table[:, 0].astype(np.int64),
        "time": table[:, 1],
        "t_set": table[:, 2],
        "temperature": table[:, 3],
        "pe": table[:, 4],
    }


def run_quench(
    system: ModelSystem,
    n_particles: int,
    temperature: float,
    seed: int,
    protocol: QuenchProtocol,
    workdir: str | os.PathLike[str],
) -> QuenchResult:
    """Run one quench of ``n_particles`` of ``system`` to ``temperature`` with LAMMPS.

    ``seed`` drives both the random start (numpy) and the Maxwell velocities (LAMMPS), so the same
    seed gives the same run. Input files and the LAMMPS log are kept in ``workdir``.
    """
    if temperature <= 0:
        raise ValueError(f"target temperature must be positive, got {temperature}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    start = random_configuration(system, n_particles, np.random.default_rng(seed))
    start.write(workdir / "start.data", system.type_names)
    style = protocol.resolved_pair_style(system)
    atomic_write_text(workdir / "pair.lmp", pair_block(system, style, table_file=workdir / "pair.table"))
    steps = protocol.steps(system, temperature)
    variables = {
        "data_in": workdir / "start.data",
        "pair_file": workdir / "pair.lmp",
        "dt": protocol.timestep or system.md_timestep,
        "seed": seed,
        "t_high": protocol.t_high,
        "t_target": temperature,
        "tdamp": protocol.thermostat_damping,
        "equil_steps": steps["equil"],
        "cool_steps": steps["cool"],
        "hold_steps": steps["hold"],
        "thermo_every": protocol.thermo_interval,
        "thermo_file": workdir / "cooling_curve.txt",
        "data_out": workdir / "final.data",
    }
    clock = time.perf_counter()
    lmp = run_input("quench.lmp", variables, log_file=workdir / "log.lammps")
    wall = time.perf_counter() - clock
    try:
        if style != "exact":
            lmp.commands_string(pair_block(system, "exact"))  # the check compares against the exact formula
        lmp.command("run 0")  # energy of exactly the configuration just written
        lammps_energy = float(lmp.extract_compute("epot", 0, 0))
    finally:
        lmp.close()
    config = Configuration.read_lammps_data(workdir / "final.data", system.name)
    config.metadata.update({"temperature": temperature, "seed": seed, "protocol": protocol.to_dict()})
    return QuenchResult(config, _read_thermo(workdir / "cooling_curve.txt"), lammps_energy, sum(steps.values()), wall)


def quench_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``"quench"``: one sample (``item``: ``sample``, ``seed``) → its :class:`QuenchResult` on disk.

    ``params``: ``system``, ``n_particles``, ``temperature`` (target T) and ``protocol`` (the fields of
    :class:`QuenchProtocol`).
    """
    system = get_system(params["system"])
    protocol = QuenchProtocol(**params["protocol"])
    result = run_quench(
        system,
        int(params["n_particles"]),
        float(params["temperature"]),
        int(item["seed"]),
        protocol,
        item_workdir(out_dir, item),
    )
    result.save(item_result_path(out_dir, item))
    return {
        "md_steps": result.md_steps,
        "wall_seconds": result.wall_seconds,
        "steps_per_second": result.steps_per_second,
    }
