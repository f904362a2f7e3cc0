"""A submitted array as the launcher follows it: Slurm's errors, task states, the array's tasks and the files each
reads and writes (task spec, stdout events, stderr, exit status), and how failed items and lost tasks are told.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glass_assets.launchers.base import ProgressCallback, SimulationError, result_paths

__all__ = [
    "NOT_RETRIED_STATES",
    "QUEUED_STATES",
    "RUNNING_STATES",
    "ArrayTask",
    "SlurmConfigError",
    "SlurmError",
    "SlurmUnavailableError",
    "SubmittedArray",
    "count_states",
    "describe_lost_task",
    "item_failure_error",
    "stream_events",
    "worker_result",
]

#: squeue states of a task that is still waiting or running
QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"})
RUNNING_STATES = frozenset(
    {"CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
)
#: end states that would recur on a retry: report them instead of resubmitting
NOT_RETRIED_STATES = frozenset({"TIMEOUT", "OUT_OF_MEMORY", "DEADLINE"})
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
