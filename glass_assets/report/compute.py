"""The report's compute section: what each stage of the campaign cost, summed from ``compute_usage``.

One row per stage (the asset groups' stages: ensembles, dynamics, learning, …) over the newest materialization of
every partition the warehouse accounts for: partitions, launcher tasks and items, wall hours of the steps, CPU and
GPU hours of steps and tasks together, the largest peak memory of a process, and CPU hours per item — the figure a
user scales by the paper profile's item counts to plan a campaign (:mod:`glass_assets.compute_accounting`).
"""

from __future__ import annotations

from glass_assets.compute_accounting import COMPUTE_USAGE, usage_by_stage
from glass_assets.report.data import ReportData
from glass_assets.report.html import Section, absent, note, table

__all__ = ["compute_per_stage"]


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def compute_per_stage(data: ReportData) -> Section:
    """The compute each stage cost (module doc)."""
    section = Section("Compute per stage: what the campaign cost, and per item", "compute")
    usage = data.store.query(f"SELECT * FROM {COMPUTE_USAGE}") if COMPUTE_USAGE in data.tables else None
    if usage is None or usage.is_empty():
        section.add(absent("compute accounting: every materialization records its cost in compute_usage"))
        return section
    section.present = True
    stages = usage_by_stage(usage)
    sources = ", ".join(sorted(set(usage.filter(usage["component"] != "step")["source"].to_list()))) or "none"
    devices = ", ".join(sorted(set(usage["device"].drop_nulls().to_list())))
    section.add(note(
        "Sums over the newest materialization of each partition (a rerun replaces its partition's figures; items "
        f"reused from an interrupted run cost nothing). Task figures from: {sources}; devices: {devices}. CPU hours "
        "are user + system time of the Dagster steps and of every launcher task; wall hours are the steps' own."
    ))
    rows = [[r["stage"], r["partitions"], r["tasks"], r["items"], _hours(r["step_wall_h"]), _hours(r["cpu_h"]),
             _hours(r["gpu_h"]), f"{r['peak_rss_mb']:.0f}", _hours(r["cpu_h_per_item"])]
            for r in stages.iter_rows(named=True)]
    section.add(table(["stage", "partitions", "tasks", "items", "step wall h", "CPU h", "GPU h", "peak MB",
                       "CPU h per item"], rows))
    total = float(stages["cpu_h"].sum())
    plural = "s" if stages.height != 1 else ""
    section.summary.append(f"- compute: {total:.3g} CPU h over {stages.height} stage{plural}")
    return section
