"""Slurm launcher: one partition's items become one ``sbatch --array`` job on a Slurm cluster.

The asset's process (on a login or service node) writes one task file per array task into the shared
scratch folder, submits one array whose task ``i`` runs ``python -m WORKER_MODULE task_i.json``, and
polls ``squeue`` until no task is queued or running. Workers write one result file per item
atomically (as with the local launcher), their JSON events go to ``task_i.out`` (streamed to the
Dagster log while the array runs), their stderr to ``task_i.err``, and the batch script records the
worker's exit status in ``task_i.exit``. So after the array:

- every item has a result file → done;
- an item the worker reported as failed (``item_failed``: a Python error, deterministic) → raise;
- items of a task that vanished (cancelled, preempted, node lost, killed) → resubmit only those items
  as a new, smaller array, at most ``max_retries`` times; tasks that hit the time limit or ran out of
  memory are not retried (they would again) but reported with Slurm's state.

Leaving ``run_tasks`` early for any reason — Dagster run termination arrives as
``DagsterExecutionInterruptedError`` (a ``BaseException``) raised inside the polling loop — ``scancel``s
the array in a ``finally`` block.

Chunking: with ``n`` items, ``k = max(items_per_task, ceil(n / max_array_tasks))`` items per task,
``ceil(n / k)`` array tasks. A task's fixed cost (queue → start → interpreter and LAMMPS import →
result seen by the poll, measured by ``benchmarks/slurm_overhead.py``) is paid once per task, so
short items should be chunked until ``k × t_item`` dwarfs it.

Task states come from ``squeue --states=all`` (slurmctld keeps finished jobs for ``MinJobAge``,
300 s by default); ``sacct`` (needs accounting, i.e. slurmdbd) is asked only for tasks squeue no
longer knows.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glass_assets.compute_accounting import record_launch_metadata, record_task_usage
from glass_assets.launchers.base import (
    REPO_ROOT,
    WORKER_MODULE,
    ProgressCallback,
    SimulationError,
    SimulationLauncher,
    result_paths,
    worker_environment,
)

__all__ = [
    "SlurmConfigError",
    "SlurmError",
    "SlurmLauncher",
    "SlurmUnavailableError",
    "describe_lost_task",
]

SLURM_COMMANDS = ("sbatch", "squeue", "scancel")
#: squeue states of a task that is still waiting or running
QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"})
RUNNING_STATES = frozenset(
    {"CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
)
#: end states that would recur on a retry: report them instead of resubmitting
NOT_RETRIED_STATES = frozenset({"TIMEOUT", "OUT_OF_MEMORY", "DEADLINE"})
COMMAND_TIMEOUT_S = 60
STDERR_TAIL_LINES = 5


class SlurmError(SimulationError):
    """Slurm refused or lost work: the message names the job, the task and Slurm's own words."""


class SlurmUnavailableError(SlurmError):
    """Slurm's client commands are not installed on this host (a retry on the same host cannot help)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class SlurmConfigError(ValueError):
    """A SlurmLauncher setting is out of range; the message names the field and its value."""


@dataclass(frozen=True)
class ArrayTask:
    """One array task: its items and the files it reads and writes in the submission folder."""

    index: int
    items: list[dict[str, Any]]
    folder: Path

    def file(self, suffix: str) -> Path:
        return self.folder / f"task_{self.index}.{suffix}"

    def exit_code(self) -> int | None:
        """The worker's exit status as the batch script recorded it; None if the script never got there."""
        path = self.file("exit")
        return int(path.read_text().strip()) if path.exists() else None

    def stderr_tail(self) -> str:
        path = self.file("err")
        if not path.exists():
            return f"(no {path.name}: was the scratch folder reachable from the compute node?)"
        lines = path.read_text(errors="replace").strip().splitlines()[-STDERR_TAIL_LINES:]
        return " | ".join(lines) if lines else "(stderr empty)"


@dataclass
class SubmittedArray:
    """A submitted array job and what its poll has seen so far."""

    job_id: str
    kind: str
    folder: Path
    tasks: list[ArrayTask]
    states: dict[int, str] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)
    item_failures: list[dict[str, Any]] = field(default_factory=list)
    usage_reports: list[dict[str, Any]] = field(default_factory=list)

    def task_id(self, task: ArrayTask) -> str:
        return f"{self.job_id}_{task.index}"


def item_failure_error(
    kind: str, n_items: int, job_ids: list[str], failures: list[tuple[SubmittedArray, dict[str, Any]]]
) -> SimulationError:
    """The error for items whose worker raised: how many, the first one's message, task and stderr file."""
    array, first = failures[0]
    task = first.get("task")
    return SimulationError(
        f"{len(failures)} of {n_items} {kind} items failed in Slurm job(s) {','.join(job_ids)}; first "
        f"({first.get('item')}, task {array.job_id}_{task}): {first.get('error')} "
        f"[stderr {array.folder / f'task_{task}.err'}]",
        retryable=False,
    )


def describe_lost_task(job_id: str, task: ArrayTask, state: str, kind: str) -> str:
    """One sentence about a task that left no result: job and task id, Slurm's state, stderr path and tail."""
    code = task.exit_code()
    status = f"worker exit status {code}" if code is not None else "the batch script did not finish"
    hint = {
        "TIMEOUT": "it hit the time limit (raise time_limit or lower items_per_task)",
        "OUT_OF_MEMORY": "it ran out of memory (raise mem_per_task)",
        "CANCELLED": "it was cancelled",
        "PREEMPTED": "it was preempted",
        "NODE_FAIL": "its node failed",
    }.get(state.split()[0] if state else "", "")
    return (
        f"{kind} task {job_id}_{task.index} ({len(task.items)} items, first {task.items[0]}) ended {state or 'UNKNOWN'}"
        f"{': ' + hint if hint else ''}; {status}; stderr {task.file('err')}: {task.stderr_tail()}"
    )


class SlurmLauncher(SimulationLauncher):
    """Runs one batch of simulation items as one Slurm job array (``sbatch --array``) and waits for it.

    Slurm options map one to one onto ``#SBATCH`` lines: ``partition``, ``account``, ``qos``,
    ``time_limit`` (sbatch ``--time`` syntax, e.g. ``"04:00:00"``), ``cpus_per_task``, ``mem_per_task``
    (``--mem``, e.g. ``"2G"``) and ``extra_sbatch_lines`` (verbatim, e.g. ``"#SBATCH --constraint=avx2"``).
    Empty strings leave Slurm's defaults. ``gres`` is ``--gres`` (e.g. ``"gpu:1"``).

    Training tasks (task kind ``training``: the networks, :mod:`glass_assets.launchers.training`) take their own
    ``training_partition``, ``training_gres``, ``training_cpus_per_task``, ``training_mem_per_task`` and
    ``training_time_limit`` where set (``GLASS_SLURM_TRAINING_PARTITION=gpu``, ``GLASS_SLURM_TRAINING_GRES=gpu:1``),
    so networks go to GPU nodes while simulations stay on CPU nodes. ``setup_lines`` are shell lines run on the
    compute node before the worker (``module load …``, ``source /shared/glass/.venv/bin/activate``);
    ``python_executable`` (default: this interpreter) must exist at the same path there, and so must the scratch folder.
    """

    partition: str = ""
    account: str = ""
    qos: str = ""
    time_limit: str = ""
    cpus_per_task: int = 1
    mem_per_task: str = ""
    gres: str = ""
    training_partition: str = ""
    training_gres: str = ""
    training_cpus_per_task: int = 0
    training_mem_per_task: str = ""
    training_time_limit: str = ""
    extra_sbatch_lines: list[str] = []
    setup_lines: list[str] = []
    items_per_task: int = 1
    max_array_tasks: int = 1000
    max_concurrent_tasks: int = 0
    max_retries: int = 2
    poll_seconds: float = 2.0
    job_name: str = "glass"
    python_executable: str = sys.executable

    # ---- the seam -------------------------------------------------------------------------------

    def run_tasks(
        self,
        kind: str,
        params: dict[str, Any],
        items: list[dict[str, Any]],
        out_dir: Path,
        on_event: ProgressCallback | None = None,
    ) -> list[Path]:
        self.check_settings()
        emit = on_event or (lambda event: None)
        out_dir = usable_scratch_folder(Path(out_dir))
        find_slurm_commands()
        paths = result_paths(out_dir, items)
        for item, path in zip(items, paths, strict=True):
            if path.exists():
                emit({"event": "item_skipped", "item": item})
        pending = [item for item, path in zip(items, paths, strict=True) if not path.exists()]
        job_ids: list[str] = []
        array_sizes: list[str] = []
        item_failures: list[tuple[SubmittedArray, dict[str, Any]]] = []
        lost: list[str] = []
        for attempt in range(self.max_retries + 1):
            if not pending:
                break
            array = self.submit(kind, params, pending, out_dir, attempt)
            job_ids.append(array.job_id)
            array_sizes.append(str(len(array.tasks)))
            record_launch_metadata(
                {
                    "slurm_job_ids": ",".join(job_ids),
                    "slurm_array_sizes": ",".join(array_sizes),
                    "slurm_files": str(out_dir / "slurm"),
                }
            )
            emit(self.submitted_event(array, len(pending), attempt))
            self.follow_cancelling_on_exit(array, emit)
            account(array)
            item_failures += [(array, event) for event in array.item_failures]
            failed = {json.dumps(event.get("item"), sort_keys=True) for event in array.item_failures}
            lost = self.lost_tasks(array, out_dir, failed, emit)
            pending = [
                item
                for item in pending
                if not worker_result(out_dir, item).exists() and json.dumps(item, sort_keys=True) not in failed
            ]
        if item_failures:
            raise item_failure_error(kind, len(items), job_ids, item_failures)
        if pending:
            raise SlurmError(
                f"{len(pending)} {kind} items still have no result after {self.max_retries + 1} submissions "
                f"(jobs {','.join(job_ids)}); last: {lost[0] if lost else 'no task state known'}"
            )
        return paths

    def submitted_event(self, array: SubmittedArray, n_items: int, attempt: int) -> dict[str, Any]:
        return {
            "event": "slurm_submitted",
            "job_id": array.job_id,
            "array_size": len(array.tasks),
            "message": f"Slurm job {array.job_id}: {len(array.tasks)} array tasks for {n_items} {array.kind} items "
            f"(attempt {attempt + 1}/{self.max_retries + 1}; files in {array.folder})",
        }

    # ---- settings and submission -------------------------------------------------------------------

    def check_settings(self) -> None:
        positive = {
            "cpus_per_task": self.cpus_per_task,
            "items_per_task": self.items_per_task,
            "max_array_tasks": self.max_array_tasks,
        }
        for name, value in positive.items():
            if value < 1:
                raise SlurmConfigError(f"SlurmLauncher.{name} must be ≥ 1, got {value}")
        if self.training_cpus_per_task < 0:
            raise SlurmConfigError(
                "SlurmLauncher.training_cpus_per_task must be ≥ 0 (0: cpus_per_task), got "
                f"{self.training_cpus_per_task}"
            )
        if self.max_retries < 0 or self.max_concurrent_tasks < 0:
            raise SlurmConfigError(
                f"SlurmLauncher.max_retries and max_concurrent_tasks must be ≥ 0, got "
                f"{self.max_retries} and {self.max_concurrent_tasks}"
            )
        if self.poll_seconds <= 0:
            raise SlurmConfigError(f"SlurmLauncher.poll_seconds must be > 0, got {self.poll_seconds}")
        for line in self.extra_sbatch_lines:
            if not line.startswith("#SBATCH "):
                raise SlurmConfigError(f"SlurmLauncher.extra_sbatch_lines entry {line!r} must start with '#SBATCH '")

    def items_per_array_task(self, n_items: int) -> int:
        """Items per task: ``items_per_task``, more if the array would exceed ``max_array_tasks``."""
        return max(self.items_per_task, math.ceil(n_items / self.max_array_tasks))

    def resources_for(self, kind: str) -> dict[str, str]:
        """Partition, gres, CPUs, memory and time limit of a ``kind`` task: the ``training_*`` settings where set for
        training tasks, the general ones otherwise."""
        training = kind == "training"

        def pick(name: str) -> str:
            general = str(getattr(self, name))
            return (str(getattr(self, f"training_{name}")) or general) if training else general

        cpus = self.training_cpus_per_task if training and self.training_cpus_per_task else self.cpus_per_task
        return {"partition": pick("partition"), "gres": pick("gres"), "cpus-per-task": str(cpus),
                "mem": pick("mem_per_task"), "time": pick("time_limit")}

    def batch_script(self, kind: str, folder: Path, n_tasks: int) -> str:
        """The sbatch script of one array: Slurm options, then the worker on ``task_$SLURM_ARRAY_TASK_ID``."""
        throttle = f"%{self.max_concurrent_tasks}" if self.max_concurrent_tasks else ""
        resources = self.resources_for(kind)
        options = {
            "job-name": f"{self.job_name}-{kind}",
            "array": f"0-{n_tasks - 1}{throttle}",
            "output": f"{folder}/task_%a.out",
            "error": f"{folder}/task_%a.err",
            "cpus-per-task": resources["cpus-per-task"],
            "partition": resources["partition"],
            "account": self.account,
            "qos": self.qos,
            "time": resources["time"],
            "mem": resources["mem"],
            "gres": resources["gres"],
        }
        lines = ["#!/bin/bash", *(f"#SBATCH --{key}={value}" for key, value in options.items() if value)]
        lines += ["#SBATCH --no-requeue", *self.extra_sbatch_lines]
        q = shlex.quote
        task = f"{folder}/task_${{SLURM_ARRAY_TASK_ID}}"
        lines += [
            *self.setup_lines,
            f"export OMP_NUM_THREADS={resources['cpus-per-task']}",
            f"export PYTHONPATH={q(str(REPO_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}",
            f"cd {q(str(REPO_ROOT))}",
            f'{q(self.python_executable)} -m {WORKER_MODULE} "{task}.json"',
            "code=$?",
            f'echo "$code" > "{task}.exit.tmp" && mv -f "{task}.exit.tmp" "{task}.exit"',
            'exit "$code"',
        ]
        return "\n".join(lines) + "\n"

    def submit(
        self, kind: str, params: dict[str, Any], items: list[dict[str, Any]], out_dir: Path, attempt: int
    ) -> SubmittedArray:
        """Write the task files and the batch script into a fresh folder, ``sbatch`` it, return the job."""
        slurm_dir = out_dir / "slurm"
        slurm_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"attempt{attempt}_", dir=slurm_dir))
        if any(c.isspace() for c in str(folder)):
            raise SlurmConfigError(f"scratch folder {folder} contains whitespace, which #SBATCH lines cannot carry")
        k = self.items_per_array_task(len(items))
        tasks = [ArrayTask(i, items[i * k : (i + 1) * k], folder) for i in range(math.ceil(len(items) / k))]
        for task in tasks:
            spec = {"kind": kind, "params": params, "items": task.items, "out_dir": str(out_dir)}
            task.file("json").write_text(json.dumps(spec))
        script = folder / "array.sbatch"
        script.write_text(self.batch_script(kind, folder, len(tasks)))
        result = run_slurm(["sbatch", "--parsable", str(script)], env=worker_environment())
        if result.returncode != 0:
            asked = ", ".join(f"{k}={v}" for k, v in self.resources_for(kind).items() if v)
            settings = "GLASS_SLURM_TRAINING_* / SlurmLauncher.training_*" if kind == "training" else \
                "GLASS_SLURM_* / SlurmLauncher"
            raise SlurmError(
                f"sbatch rejected the {kind} array ({len(tasks)} tasks, script {script}; asked {asked}, from "
                f"{settings}): {(result.stderr or result.stdout).strip()}",
                retryable=False,  # Slurm refused the settings: the same submission would be refused again
            )
        job_id = result.stdout.strip().split(";")[0]
        (folder / "submitted.json").write_text(json.dumps({"job_id": job_id, "n_tasks": len(tasks)}))
        return SubmittedArray(job_id, kind, folder, tasks)

    # ---- following the array ----------------------------------------------------------------------

    def follow_cancelling_on_exit(self, array: SubmittedArray, emit: ProgressCallback) -> None:
        """Poll until no task is queued or running; on any early exit (run terminated, error) scancel."""
        finished = False
        try:
            self.follow(array, emit)
            finished = True
        finally:
            if not finished:
                cancel(array, emit)

    def follow(self, array: SubmittedArray, emit: ProgressCallback) -> None:
        last_counts: tuple[int, int, int] | None = None
        while True:
            array.states = task_states(array.job_id)
            stream_events(array, emit)
            counts = count_states(array)
            if counts != last_counts:
                queued, running, done = counts
                emit(
                    {
                        "event": "slurm_progress",
                        "job_id": array.job_id,
                        "queued": queued,
                        "running": running,
                        "done": done,
                        "message": f"Slurm job {array.job_id}: {queued} queued, {running} running, "
                        f"{done}/{len(array.tasks)} tasks done",
                    }
                )
                last_counts = counts
            if counts[0] == counts[1] == 0:
                stream_events(array, emit)
                return
            time.sleep(self.poll_seconds)

    def lost_tasks(
        self, array: SubmittedArray, out_dir: Path, failed_items: set[str], emit: ProgressCallback
    ) -> list[str]:
        """Describe tasks whose items have no result and no worker error; raise if a retry would not help."""
        lost = [
            task
            for task in array.tasks
            if any(
                not worker_result(out_dir, item).exists() and json.dumps(item, sort_keys=True) not in failed_items
                for item in task.items
            )
        ]
        if not lost:
            return []
        unknown = [task.index for task in lost if task.index not in array.states]
        if unknown:
            array.states.update(sacct_states(array.job_id, unknown))
        descriptions = []
        for task in lost:
            state = array.states.get(task.index, "")
            description = describe_lost_task(array.job_id, task, state, array.kind)
            emit({"event": "slurm_task_failed", "task": task.index, "level": "error", "message": description})
            descriptions.append(description)
            if state.split()[0:1] and state.split()[0] in NOT_RETRIED_STATES:
                raise SlurmError(description, retryable=False)
        if len(lost) == len(array.tasks) and all(array.states.get(t.index, "").startswith("CANCELLED") for t in lost):
            raise SlurmError(
                f"every task of Slurm job {array.job_id} was cancelled outside this run: {descriptions[0]}"
            )
        return descriptions


# ---- Slurm's commands -----------------------------------------------------------------------------


def find_slurm_commands() -> None:
    """Raise SlurmUnavailableError unless sbatch, squeue and scancel are on PATH."""
    missing = [name for name in SLURM_COMMANDS if shutil.which(name) is None]
    if missing:
        raise SlurmUnavailableError(
            f"Slurm command(s) {', '.join(missing)} not found on PATH ({os.environ.get('PATH', '')}): run Dagster on "
            "a host with Slurm's client commands (a login node), or select the local launcher (GLASS_LAUNCHER=local)"
        )


def run_slurm(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SlurmError(f"{' '.join(args[:3])} failed: {error}") from error


def usable_scratch_folder(out_dir: Path) -> Path:
    """Create ``out_dir`` and check it is writable; the compute nodes must see the same path."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe"):
            pass
    except OSError as error:
        raise SlurmError(
            f"scratch folder {out_dir} is not writable from the submit host ({error}); Slurm tasks write their "
            "results there, so it must be on storage shared with the compute nodes",
            retryable=False,
        ) from error
    return out_dir


def task_states(job_id: str) -> dict[int, str]:
    """``{array task index: state}`` of every task slurmctld still knows (``squeue --states=all``)."""
    result = run_slurm(["squeue", "--noheader", "--array", "--states=all", "--jobs", job_id, "--format=%i|%T|%r"])
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return {}  # purged after MinJobAge: every task has ended
        raise SlurmError(f"squeue could not report Slurm job {job_id}: {result.stderr.strip()}")
    states = {}
    for line in result.stdout.splitlines():
        task_id, state, reason = (line.split("|") + ["", ""])[:3]
        index = task_id.partition("_")[2]
        if index.isdigit():
            states[int(index)] = state if reason in {"", "None"} else f"{state} ({reason})"
    return states


def sacct_states(job_id: str, indices: list[int]) -> dict[int, str]:
    """End states from accounting (``sacct``) for tasks squeue forgot; empty when accounting is off."""
    result = run_slurm(["sacct", "--noheader", "--parsable2", "-X", "--jobs", job_id, "--format=JobID,State,ExitCode"])
    if result.returncode != 0:
        return {}
    states = {}
    for line in result.stdout.splitlines():
        task_id, state, exit_code = (line.split("|") + ["", ""])[:3]
        index = task_id.partition("_")[2]
        if index.isdigit() and int(index) in indices:
            states[int(index)] = f"{state} (exit {exit_code}, from sacct)"
    return states


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


def cancel(array: SubmittedArray, emit: ProgressCallback) -> None:
    """scancel the whole array; report what happened (never raise: we are usually unwinding)."""
    try:
        result = run_slurm(["scancel", array.job_id])
        outcome = "cancelled" if result.returncode == 0 else f"scancel said: {result.stderr.strip()}"
    except SlurmError as error:
        outcome = str(error)
    emit(
        {
            "event": "slurm_cancelled",
            "job_id": array.job_id,
            "level": "error",
            "message": f"Slurm job {array.job_id}: {outcome}",
        }
    )


def count_states(array: SubmittedArray) -> tuple[int, int, int]:
    """(queued, running, done) task counts; a task squeue no longer lists has ended."""
    queued = running = 0
    for task in array.tasks:
        state = array.states.get(task.index, "").split(" ")[0]
        queued += state in QUEUED_STATES
        running += state in RUNNING_STATES
    return queued, running, len(array.tasks) - queued - running


def stream_events(array: SubmittedArray, emit: ProgressCallback) -> None:
    """Pass on the complete new JSON lines of every task's stdout; remember worker-reported item failures."""
    for task in array.tasks:
        path = task.file("out")
        if not path.exists():
            continue
        with path.open("rb") as stream:
            stream.seek(array.offsets.get(task.index, 0))
            chunk = stream.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        array.offsets[task.index] = array.offsets.get(task.index, 0) + len(complete)
        for line in complete.decode(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(event, dict):
                continue
            event.update(job_id=array.job_id, task=task.index)
            if event.get("event") == "item_failed":
                array.item_failures.append(event)
            if event.get("event") == "task_usage":
                array.usage_reports.append(event)
            emit(event)


def worker_result(out_dir: Path, item: dict[str, Any]) -> Path:
    return result_paths(out_dir, [item])[0]
