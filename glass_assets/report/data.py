"""What the report reads: warehouse tables (only those that exist), the scale they were measured at, and the
``champion`` CNN of each system from the MLflow registry.

Nothing here writes: the warehouse is opened read-only under its shared lock, and a registry database that does
not exist is not created. A table the warehouse lacks (an older warehouse, a stage not run yet) reads as
``None``, which the report shows as "not materialized yet".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from mlflow.exceptions import MlflowException

from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.tables import QUENCHED, SWAP_MC
from glass_assets.warehouse import Warehouse
from glass_core.models.systems import get_system

__all__ = ["Champion", "QuenchScale", "ReportData", "champion", "quench_scale", "swap_mc_scale"]


class ReportData:
    """Read access to the warehouse for the report: which tables exist, and their rows for some systems."""

    def __init__(self, store: Warehouse) -> None:
        self.store = store
        self.tables: frozenset[str] = frozenset()
        if store.path.exists():
            names = store.query("SELECT table_name FROM information_schema.tables")
            self.tables = frozenset(names["table_name"].to_list())

    def rows(self, table: str, system: str, where: str = "", order: str = "") -> pl.DataFrame | None:
        """Rows of ``table`` for ``system`` (with an extra SQL ``where`` clause); ``None`` if there are none."""
        if table not in self.tables:
            return None
        sql = f"SELECT * FROM {table} WHERE system = ?" + (f" AND {where}" if where else "")
        frame = self.store.query(sql + (f" ORDER BY {order}" if order else ""), [system])
        return frame if frame.height else None

    def query(self, sql: str, parameters: list, needs: tuple[str, ...]) -> pl.DataFrame | None:
        """Any read-only query over the tables ``needs``; ``None`` if one is missing or no row matches."""
        if not set(needs) <= self.tables:
            return None
        frame = self.store.query(sql, parameters)
        return frame if frame.height else None

    def systems(self) -> list[str]:
        """Systems with configurations in the warehouse (``samples``), in name order."""
        if "samples" not in self.tables:
            return []
        return sorted(self.store.query("SELECT DISTINCT system FROM samples")["system"].to_list())


@dataclass(frozen=True)
class QuenchScale:
    """How a system's [O] ensembles were made: N, cooling rate(s), glasses (T_G) and liquids (T_L) stored."""

    n_particles: int | None
    cooling_rates: tuple[float, ...]
    n_glasses: int
    n_liquids: int

    def text(self) -> str:
        if self.n_glasses == 0 and self.n_liquids == 0:
            return "no quenched ensembles"
        rates = ", ".join(f"{r:g}" for r in self.cooling_rates) or "unknown"
        mixed = " (mixed!)" if len(self.cooling_rates) > 1 else ""
        rate = f"cooling rate{'s' if mixed else ''} {rates}{mixed}"
        return f"N = {self.n_particles}, {rate}, {self.n_glasses} glasses + {self.n_liquids} liquids"


def quench_scale(data: ReportData, system: str) -> QuenchScale:
    """The :class:`QuenchScale` of ``system``'s quenched T_G and T_L ensembles (cooling rate from the stored
    protocol)."""
    temperatures = get_system(system).temperatures
    rows = data.rows("samples", system, f"ensemble = '{QUENCHED}'")
    if rows is None or "glass" not in temperatures:
        return QuenchScale(None, (), 0, 0)
    glass = rows.filter(pl.col("temperature") == float(temperatures["glass"]))
    liquid = rows.filter(pl.col("temperature") == float(temperatures["liquid"]))
    rates = {json.loads(p).get("cooling_rate") for p in rows["protocol"].drop_nulls().to_list()}
    return QuenchScale(
        int(rows["n_particles"].max()), tuple(sorted(r for r in rates if r is not None)), glass.height, liquid.height
    )


def swap_mc_scale(data: ReportData, system: str) -> str:
    """N and equilibria per temperature of ``system``'s swap-MC ensembles, e.g. ``N = 256, 8 equilibria per T``."""
    rows = data.rows("samples", system, f"ensemble = '{SWAP_MC}'")
    if rows is None:
        return "no swap-MC equilibria"
    per_t = rows.group_by("temperature").len()["len"]
    count = str(per_t.min()) if per_t.min() == per_t.max() else f"{per_t.min()}–{per_t.max()}"
    return f"N = {rows['n_particles'].max()}, {count} equilibria per T at {per_t.len()} temperatures"


@dataclass(frozen=True)
class Champion:
    """The registry's ``champion`` CNN of a system: version, and its run's parameters, metrics and tags."""

    system: str
    version: str
    run_id: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]

    def metric(self, name: str) -> float | None:
        return self.metrics.get(name)


def champion(tracking: MLflowResource, system: str) -> Champion | None:
    """The ``champion`` of ``glass_cnn_<system>``; ``None`` without one (or without a registry database)."""
    if tracking.tracking_uri.startswith("sqlite:///"):
        if not Path(tracking.tracking_uri.removeprefix("sqlite:///")).is_file():
            return None
    client = tracking.activate()
    try:
        version = client.get_model_version_by_alias(model_name(system), "champion")
    except MlflowException:
        return None
    run = client.get_run(version.run_id)
    return Champion(system, str(version.version), version.run_id, run.data.params, run.data.metrics, run.data.tags)
