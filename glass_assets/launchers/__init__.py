"""Simulation launchers behind :class:`SimulationLauncher.run_tasks`, and which one a deployment uses.

``GLASS_LAUNCHER`` selects the launcher when the definitions load: ``local`` (default) runs worker
processes on this machine, ``slurm`` submits one job array per partition. Every field of
:class:`SlurmLauncher` can be set as ``GLASS_SLURM_<FIELD>`` (``GLASS_SLURM_PARTITION=compute``,
``GLASS_SLURM_TIME_LIMIT=04:00:00``; list fields such as ``GLASS_SLURM_SETUP_LINES`` one entry per line) or per run
in the launchpad's resource config (``resources: simulation: config: …``).
"""

from __future__ import annotations

from collections.abc import Mapping

from glass_assets.launchers.base import (
    WORKER_MODULE,
    ProgressCallback,
    SimulationError,
    SimulationLauncher,
)
from glass_assets.launchers.local import LocalProcessLauncher
from glass_assets.launchers.slurm import SlurmConfigError, SlurmError, SlurmLauncher, SlurmUnavailableError
from glass_assets.launchers.training import TrainedResult, train_through_launcher, training_scratch
from glass_assets.settings import LAUNCHER, slurm_raw, slurm_variable

__all__ = [
    "WORKER_MODULE",
    "LocalProcessLauncher",
    "ProgressCallback",
    "SimulationError",
    "SimulationLauncher",
    "SlurmConfigError",
    "SlurmError",
    "SlurmLauncher",
    "SlurmUnavailableError",
    "TrainedResult",
    "configured_launcher",
    "train_through_launcher",
    "training_scratch",
]

LAUNCHERS = ("local", "slurm")


def configured_launcher(environ: Mapping[str, str] | None = None) -> SimulationLauncher:
    """The launcher ``GLASS_LAUNCHER`` names, with ``GLASS_SLURM_*`` settings for the Slurm one."""
    name = (LAUNCHER.get(environ) or "local").strip().lower() or "local"
    if name == "local":
        return LocalProcessLauncher()
    if name != "slurm":
        raise SlurmConfigError(f"{LAUNCHER.name}={name!r} is not a launcher; choose one of {LAUNCHERS}")
    return SlurmLauncher(**slurm_settings(environ))


def slurm_settings(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """``GLASS_SLURM_<FIELD>`` variables as SlurmLauncher fields, converted to each field's type."""
    settings: dict[str, object] = {}
    for name, info in SlurmLauncher.model_fields.items():
        raw = slurm_raw(name, environ)
        if raw is None:
            continue
        try:
            if info.annotation is int:
                settings[name] = int(raw)
            elif info.annotation is float:
                settings[name] = float(raw)
            elif info.annotation == list[str]:
                settings[name] = [line.strip() for line in raw.splitlines() if line.strip()]
            else:
                settings[name] = raw
        except ValueError as error:
            raise SlurmConfigError(f"{slurm_variable(name)}={raw!r} is not a valid {name}: {error}") from error
    return settings
