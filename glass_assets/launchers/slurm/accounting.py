"""What an array cost: ``sacct``'s per-task wall, CPU, GPU seconds and peak memory (Slurm durations and memory
figures parsed), or the workers' own reports where accounting is off, recorded in the asset's compute accounting.
"""

from __future__ import annotations

from glass_assets.compute_accounting import record_task_usage
from glass_assets.launchers.slurm.arrays import SlurmError, SubmittedArray
from glass_assets.launchers.slurm.commands import run_slurm

__all__ = [
    "SACCT_FORMAT",
    "account",
    "gpus_of",
    "parse_sacct_usage",
    "sacct_usage",
    "slurm_megabytes",
    "slurm_seconds",
]


def slurm_seconds(text: str) -> float | None:
    """Seconds of a Slurm duration (``[DD-[HH:]]MM:SS[.sss]``, as sacct's TotalCPU); None when empty or unknown."""
    text = text.strip()
    if not text or text in {"INVALID", "UNLIMITED", "Partition_Limit"}:
        return None
    days, _, clock = text.rpartition("-")
    parts = [float(part) for part in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    hours, minutes, seconds = parts[-3:]
    return (float(days) if days else 0.0) * 86400 + hours * 3600 + minutes * 60 + seconds


def slurm_megabytes(text: str) -> float:
    """MiB of a sacct memory figure (``1234K``, ``56.7M``, ``1.5G``, plain bytes); 0 when empty."""
    text = text.strip()
    if not text:
        return 0.0
    scale = {"K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2}
    if text[-1] in scale:
        return float(text[:-1]) * scale[text[-1]]
    return float(text) / 1024**2


def gpus_of(tres: str) -> int:
    """GPUs in an ``AllocTRES`` string (``cpu=4,gres/gpu=1,mem=8G``; ``gres/gpu:a100=2`` counts too)."""
    return sum(int(value) for key, _, value in (entry.partition("=") for entry in tres.split(","))
               if key.startswith("gres/gpu") and value.isdigit())


SACCT_FORMAT = "JobID,ElapsedRaw,TotalCPU,MaxRSS,AllocCPUS,AllocTRES"


def parse_sacct_usage(text: str, job_id: str) -> dict[int, dict[str, float]]:
    """Per array task of ``job_id``: wall (``ElapsedRaw``), CPU (``TotalCPU``), allocated CPUs, GPU seconds (wall ×
    allocated GPUs) and the largest ``MaxRSS`` of its steps, from ``sacct --parsable2 --noheader`` lines."""
    tasks: dict[int, dict[str, float]] = {}
    for line in text.splitlines():
        fields = (line.split("|") + [""] * 6)[:6]
        job, elapsed, total_cpu, max_rss, cpus, tres = fields
        base, _, step = job.partition(".")
        owner, _, index = base.partition("_")
        if owner != job_id or not index.isdigit():
            continue
        task = tasks.setdefault(int(index), {"wall_s": 0.0, "cpu_s": 0.0, "cpus": 1.0, "gpu_s": 0.0,
                                             "peak_rss_mb": 0.0})
        if not step:  # the allocation: its wall, CPU summed over its steps, and what it was given
            wall = float(elapsed) if elapsed.strip().isdigit() else 0.0
            task["wall_s"] = wall
            task["cpu_s"] = slurm_seconds(total_cpu) or 0.0
            task["cpus"] = float(cpus) if cpus.strip().isdigit() else 1.0
            task["gpu_s"] = wall * gpus_of(tres)
        task["peak_rss_mb"] = max(task["peak_rss_mb"], slurm_megabytes(max_rss))
    return tasks


def sacct_usage(job_id: str) -> dict[int, dict[str, float]]:
    """:func:`parse_sacct_usage` of a finished job; empty when accounting is off (no slurmdbd) or silent."""
    try:
        result = run_slurm(["sacct", "--noheader", "--parsable2", "--units=M", "--jobs", job_id,
                            f"--format={SACCT_FORMAT}"])
    except SlurmError:
        return {}
    return parse_sacct_usage(result.stdout, job_id) if result.returncode == 0 else {}


def account(array: SubmittedArray) -> None:
    """Add the array's usage to the asset's compute accounting: sacct's figures where accounting answers for every
    task that reported, else the workers' own reports (:mod:`glass_assets.compute_accounting`)."""
    usage = sacct_usage(array.job_id)
    reported = {int(r["task"]) for r in array.usage_reports if "task" in r}
    if usage and reported <= set(usage):
        devices = {int(r["task"]): r.get("device", "cpu") for r in array.usage_reports if "task" in r}
        for index, figures in usage.items():
            items = next((len(t.items) for t in array.tasks if t.index == index), 0)
            record_task_usage(array.kind, {**figures, "n_items": items, "device": devices.get(index, "cpu")}, "sacct")
        return
    for report in array.usage_reports:
        record_task_usage(array.kind, report, "worker")
