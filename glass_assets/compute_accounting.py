"""Compute accounting: what each materialized asset partition cost, in the warehouse table ``compute_usage``.

Every asset body runs inside :func:`metered`. It records, per asset partition and component:

- ``step`` (source ``process``): the Dagster step process over the body — wall clock, CPU seconds (user + system,
  ``getrusage``) and the peak resident memory during the body (Linux ``VmHWM``, its mark reset when the body starts;
  where it cannot be reset, the process's high-water mark: an upper bound);
- one row per task kind the body ran through a launcher (``quench``, ``isoconfigurational``, ``training``, …): the
  tasks' wall clock (summed over tasks, interpreter start-up included), CPU seconds, GPU seconds (training on a GPU),
  the largest peak memory of a task and the cores allocated per task. The source is ``sacct`` where Slurm's
  accounting answers for the job (``TotalCPU``, ``ElapsedRaw``, ``MaxRSS``, ``AllocCPUS``, ``AllocTRES`` gres/gpu),
  else ``worker``: each worker's own ``getrusage`` report (:func:`glass_core.tasks.worker.task_usage`), as on the
  local launcher and on a Slurm without slurmdbd.

CPU efficiency is CPU seconds / (wall seconds × allocated cores). Reruns replace the partition's rows (the table
holds the newest materialization; the Dagster metadata of each materialization keeps its own figures). Items reused
from an interrupted earlier run cost nothing in the rerun and are counted as such. The paper report sums the table
per stage (:func:`usage_by_stage`): what a stage costs per item is what a user plans a campaign with.

The table is bookkeeping like ``row_sets``: timings differ from run to run, so it is outside the data digests.
"""

from __future__ import annotations

import contextvars
import functools
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from dagster import MetadataValue

from glass_core.tasks.worker import peak_resident_megabytes

__all__ = [
    "COMPUTE_USAGE",
    "UsageMeter",
    "metered",
    "record_launch_metadata",
    "record_task_usage",
    "usage_by_stage",
    "usage_metadata",
]

COMPUTE_USAGE = "compute_usage"
SCHEMA = {
    "asset": pl.String,
    "partition_key": pl.String,
    "run_id": pl.String,
    "stage": pl.String,
    "component": pl.String,
    "source": pl.String,
    "device": pl.String,
    "n_tasks": pl.Int64,
    "n_items": pl.Int64,
    "cpus": pl.Float64,
    "wall_s": pl.Float64,
    "cpu_s": pl.Float64,
    "gpu_s": pl.Float64,
    "peak_rss_mb": pl.Float64,
    "cpu_efficiency": pl.Float64,
}

_ACTIVE: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar("glass_compute_meter", default=None)


@dataclass
class TaskTotals:
    """The summed usage of one component's tasks."""

    source: str
    device: str = "cpu"
    n_tasks: int = 0
    n_items: int = 0
    core_seconds: float = 0.0  # Σ wall × allocated cores, for the efficiency
    wall_s: float = 0.0
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    peak_rss_mb: float = 0.0

    def add(self, usage: Mapping[str, Any]) -> None:
        wall, cpus = float(usage.get("wall_s") or 0.0), float(usage.get("cpus") or 1.0)
        self.n_tasks += 1
        self.n_items += int(usage.get("n_items") or 0)
        self.wall_s += wall
        self.core_seconds += wall * cpus
        self.cpu_s += float(usage.get("cpu_s") or 0.0)
        self.gpu_s += float(usage.get("gpu_s") or 0.0)
        self.peak_rss_mb = max(self.peak_rss_mb, float(usage.get("peak_rss_mb") or 0.0))
        if str(usage.get("device") or "cpu") != "cpu":
            self.device = str(usage["device"])


@dataclass
class UsageMeter:
    """The usage of one asset body: its tasks' reports by (component, source), and what its launchers want in the
    materialization's metadata (Slurm job ids, …)."""

    tasks: dict[tuple[str, str], TaskTotals] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def add_task(self, kind: str, usage: Mapping[str, Any], source: str) -> None:
        self.tasks.setdefault((kind, source), TaskTotals(source)).add(usage)


def record_launch_metadata(metadata: Mapping[str, Any]) -> None:
    """Add ``metadata`` (e.g. the Slurm job ids of a partition) to the materialization of the asset body being
    metered, so a launcher never needs the Dagster context; outside one nothing is recorded."""
    meter = _ACTIVE.get()
    if meter is not None:
        meter.metadata.update(metadata)


def record_task_usage(kind: str, usage: Mapping[str, Any], source: str = "worker") -> None:
    """Add one launcher task's usage (a worker's ``task_usage`` event, or sacct's figures) to the asset body being
    metered; outside one (a benchmark, a script) nothing is recorded."""
    meter = _ACTIVE.get()
    if meter is not None:
        meter.add_task(kind, usage, source)


def _efficiency(cpu_s: float, core_seconds: float) -> float | None:
    return cpu_s / core_seconds if core_seconds > 0 else None


def usage_rows(
    meter: UsageMeter, step: Mapping[str, float], asset: str, partition: str, run_id: str, stage: str
) -> pl.DataFrame:
    """The ``compute_usage`` rows of one metered body: the step, then each task component."""
    common = {"asset": asset, "partition_key": partition, "run_id": run_id, "stage": stage}
    rows = [{**common, "component": "step", "source": "process", "device": "cpu", "n_tasks": 1, "n_items": None,
             "cpus": 1.0, "wall_s": step["wall_s"], "cpu_s": step["cpu_s"], "gpu_s": 0.0,
             "peak_rss_mb": step["peak_rss_mb"], "cpu_efficiency": _efficiency(step["cpu_s"], step["wall_s"])}]
    for (kind, source), totals in sorted(meter.tasks.items()):
        rows.append({**common, "component": kind, "source": source, "device": totals.device,
                     "n_tasks": totals.n_tasks, "n_items": totals.n_items,
                     "cpus": totals.core_seconds / totals.wall_s if totals.wall_s > 0 else None,
                     "wall_s": totals.wall_s, "cpu_s": totals.cpu_s, "gpu_s": totals.gpu_s,
                     "peak_rss_mb": totals.peak_rss_mb,
                     "cpu_efficiency": _efficiency(totals.cpu_s, totals.core_seconds)})
    return pl.DataFrame(rows, schema=SCHEMA)


def usage_metadata(rows: pl.DataFrame) -> dict[str, Any]:
    """Materialization metadata: totals (wall of the step, CPU and GPU seconds of step and tasks, peak memory) and
    the rows as a table."""
    from glass_assets.plots import markdown_table

    step = rows.filter(pl.col("component") == "step")
    shown = rows.select("component", "source", "device", "n_tasks", "n_items", "wall_s", "cpu_s", "gpu_s",
                        "peak_rss_mb", "cpu_efficiency").with_columns(pl.col(pl.Float64).round(2))
    return {
        "compute_wall_s": float(step["wall_s"].sum()),
        "compute_cpu_s": float(rows["cpu_s"].sum()),
        "compute_gpu_s": float(rows["gpu_s"].sum()),
        "compute_peak_rss_mb": float(rows["peak_rss_mb"].max()),
        "compute_usage": MetadataValue.md(markdown_table(shown)),
    }


def _process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_memory() -> bool:
    """Restart this process's resident-memory high-water mark (Linux: ``5`` to ``/proc/self/clear_refs``), so the
    body's own peak is measured, not the largest of every earlier body of the same process; False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def metered(body: Callable[..., object], stage: str) -> Callable[..., object]:
    """``body`` with its compute accounted (module doc): rows in ``compute_usage`` through the body's ``warehouse``
    resource and the totals in the materialization's metadata, after a body that returned; a failed body records
    nothing. What the body's launchers recorded (:func:`record_launch_metadata`) joins the metadata too."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> object:
        context = args[0] if args else kwargs["context"]
        meter = UsageMeter()
        token = _ACTIVE.set(meter)
        _reset_peak_memory()
        cpu_before = _process_cpu_seconds()
        started = time.perf_counter()
        try:
            result = body(*args, **kwargs)
        finally:
            _ACTIVE.reset(token)
        step = {"wall_s": time.perf_counter() - started, "cpu_s": _process_cpu_seconds() - cpu_before,
                "peak_rss_mb": peak_resident_megabytes()}
        partition = str(context.partition_key) if context.has_partition_key else ""
        rows = usage_rows(meter, step, context.asset_key.to_user_string(), partition, context.run.run_id, stage)
        warehouse = kwargs.get("warehouse")
        if warehouse is not None:
            from glass_assets.warehouse import WarehouseError

            try:
                warehouse.get().record_compute_usage(rows)
            except WarehouseError as error:  # the asset's own rows are written; its cost is not worth failing it
                context.log.warning(f"compute usage not recorded in the warehouse: {error}")
        context.add_asset_metadata({**meter.metadata, **usage_metadata(rows)})
        return result

    return run


def usage_by_stage(usage: pl.DataFrame) -> pl.DataFrame:
    """Per stage: partitions, tasks, items, wall hours of the steps, CPU and GPU hours of steps and tasks, the
    largest peak memory, and CPU hours per item (the table a user plans a campaign with)."""
    if usage.is_empty():
        return pl.DataFrame()
    steps = usage.filter(pl.col("component") == "step")
    tasks = usage.filter(pl.col("component") != "step")
    per_stage = steps.group_by("stage").agg(
        pl.len().alias("partitions"),  # asset partitions: one step row each
        (pl.col("wall_s").sum() / 3600).alias("step_wall_h"),
    )
    totals = usage.group_by("stage").agg(
        (pl.col("cpu_s").sum() / 3600).alias("cpu_h"),
        (pl.col("gpu_s").sum() / 3600).alias("gpu_h"),
        pl.col("peak_rss_mb").max().alias("peak_rss_mb"),
    )
    items = tasks.group_by("stage").agg(pl.col("n_tasks").sum().alias("tasks"), pl.col("n_items").sum().alias("items"))
    table = per_stage.join(totals, on="stage", how="left").join(items, on="stage", how="left").with_columns(
        pl.col("tasks").fill_null(0), pl.col("items").fill_null(0)
    )
    return table.with_columns(
        pl.when(pl.col("items") > 0).then(pl.col("cpu_h") / pl.col("items")).otherwise(None).alias("cpu_h_per_item")
    ).sort("stage")
