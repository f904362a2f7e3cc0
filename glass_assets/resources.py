"""Resources: the study settings, the simulation launcher and the warehouse.

Assets never run LAMMPS or Monte Carlo in the orchestrator's process: they hand tasks to the
``simulation`` resource (:meth:`SimulationLauncher.run_tasks`, see :mod:`glass_assets.launchers`).
:class:`LocalProcessLauncher` runs them as worker processes on this machine, one per core;
:class:`SlurmLauncher` submits each batch as one Slurm job array. ``GLASS_LAUNCHER`` picks one
without changing any asset.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from glass_assets import settings as env
from glass_assets.faults import armed_fault_hook
from glass_assets.launchers import (
    LocalProcessLauncher,
    ProgressCallback,
    SimulationError,
    SimulationLauncher,
    SlurmError,
    SlurmLauncher,
    configured_launcher,
)
from glass_assets.launchers.base import REPO_ROOT
from glass_assets.profiles import PROFILES_FILE, Profile, load_profile
from glass_assets.warehouse import Warehouse

__all__ = [
    "LocalProcessLauncher",
    "SimulationError",
    "SimulationLauncher",
    "SlurmError",
    "SlurmLauncher",
    "StudySettings",
    "WarehouseResource",
    "progress_logger",
]


class StudySettings(ConfigurableResource):
    """Which profile the study runs with (``demo`` by default), and where scratch files go."""

    profile: str = "demo"
    profiles_file: str = str(PROFILES_FILE)
    scratch_dir: str = str(REPO_ROOT / "data" / "scratch")

    def load(self) -> Profile:
        """The profile, with the campaign's per-system ``settings`` overrides (:func:`with_campaign_settings`; none
        while the campaign file does not validate — the sensor's failed tick names its error)."""
        from glass_assets.campaign import load_campaign, with_campaign_settings

        profile = load_profile(self.profile, Path(self.profiles_file))
        try:
            campaign = load_campaign()
        except ValueError:
            return profile
        return with_campaign_settings(profile, campaign)

    def scratch_folder(self, asset_name: str, system: str, temperature: float, inputs: object) -> Path:
        """Worker scratch for one partition, named by a hash of its inputs: a rerun after a crash finds
        and reuses the items that had finished, a changed input starts afresh."""
        fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return Path(self.scratch_dir) / asset_name / f"{system}_T{temperature!r}_{fingerprint}"

    def plot_path(self, asset_name: str, name: str) -> Path:
        """Where an asset's figure goes: ``data/plots/<asset>/<name>`` beside the scratch folder."""
        return Path(self.scratch_dir).parent / "plots" / asset_name / name

    def quarantine_root(self) -> Path:
        """Where rows that failed a blocking check go instead of the warehouse: ``data/quarantine`` beside the
        scratch folder (one ``<asset>/<partition>/`` folder each, :func:`glass_assets.checks.write_quarantine`)."""
        return Path(self.scratch_dir).parent / "quarantine"


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file (default ``data/warehouse.duckdb``)."""

    path: str = str(REPO_ROOT / "data" / "warehouse.duckdb")

    def get(self) -> Warehouse:
        # crash tests only: a kill between the rows written and the commit, when GLASS_FAULT_* arms it (else None)
        return Warehouse(self.path, before_commit=armed_fault_hook("warehouse_write"))


def progress_logger(log: Any, total: int, what: str) -> ProgressCallback:
    """A launcher callback that logs '<what> k/total done' per finished item (with its rate or
    acceptance when the worker reports one), each failure with its error, and the launcher's own
    messages (e.g. a Slurm job's queued/running/done counts)."""
    done = 0

    def report(event: dict[str, Any]) -> None:
        nonlocal done
        if event.get("event") in {"item_done", "item_skipped"}:
            done += 1
            detail = ""
            if event.get("steps_per_second"):
                detail = f" ({event['steps_per_second']:,.0f} steps/s)"
            elif event.get("acceptance"):
                detail = f" (acceptance {event['acceptance']})"
            log.info(f"{what} {done}/{total} done{detail}")
        elif event.get("event") == "item_failed":
            log.error(f"{what} {event.get('item')} failed: {event.get('error')}")
        elif "message" in event:
            (log.error if event.get("level") == "error" else log.info)(event["message"])

    return report


def default_resources() -> dict[str, ConfigurableResource]:
    """The platform's resources.

    ``GLASS_PROFILE``, ``GLASS_PROFILES_FILE``, ``GLASS_WAREHOUSE``, ``GLASS_SCRATCH``, ``MLFLOW_TRACKING_URI`` and
    ``GLASS_MLFLOW_UI_URL`` (the MLflow UI's address, default ``http://127.0.0.1:5000``) and ``GLASS_MLFLOW_ARTIFACTS``
    override the defaults;
    ``GLASS_LAUNCHER`` (``local`` or ``slurm``, with ``GLASS_SLURM_*`` settings) picks the launcher
    (:mod:`glass_assets.settings`). A variable that is set becomes the field's :class:`~dagster.EnvVar`."""
    study = _from_environment(profile=env.PROFILE, profiles_file=env.PROFILES_FILE, scratch_dir=env.SCRATCH)
    settings = StudySettings(**study)
    warehouse = WarehouseResource(**_from_environment(path=env.WAREHOUSE))
    from glass_assets.registry.tracking import MLflowResource

    tracking = MLflowResource(
        **_from_environment(
            tracking_uri=env.MLFLOW_TRACKING_URI, ui_url=env.MLFLOW_UI_URL, artifact_root=env.MLFLOW_ARTIFACTS
        )
    )
    return {
        "study": settings,
        "simulation": configured_launcher(),
        "warehouse": warehouse,
        "mlflow_tracking": tracking,
    }


def audit_resources() -> tuple[WarehouseResource, Any]:
    """The warehouse and the MLflow tracking resources as :func:`default_resources` configures them, with the
    environment read now (for code outside a run, e.g. the demo runner's audit)."""
    from glass_assets.registry.tracking import MLflowResource

    path = env.WAREHOUSE.raw()
    warehouse = WarehouseResource(path=path) if path else WarehouseResource()
    fields = {"tracking_uri": env.MLFLOW_TRACKING_URI, "artifact_root": env.MLFLOW_ARTIFACTS}
    tracking = {field: setting.raw() for field, setting in fields.items() if setting.is_set()}
    return warehouse, MLflowResource(**tracking)


def _from_environment(**fields: env.Setting[Any]) -> dict[str, Any]:
    """Resource fields whose variable is set, as Dagster :class:`~dagster.EnvVar` s; the rest keep their defaults."""
    return {field: setting.env_var() for field, setting in fields.items() if setting.is_set()}
