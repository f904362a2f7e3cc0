"""The run launcher of the platform's instance: Dagster's default launcher, plus a health check of its run workers.

Dagster's ``DefaultRunLauncher`` starts each run in a worker process, a child of the code server, and cannot tell
run monitoring whether that process is alive (``supports_check_run_worker_health`` is false). When a worker is
killed (``kill -9``, the out-of-memory killer) the code server notices and fails the run; when the code server dies
with it (a crash of the daemon's process tree, a node reboot), nothing does, and the run stays STARTED until
``max_runtime_seconds`` (12 h here). Either way the pool slot its step had claimed stayed claimed
(``benchmarks/pool_slot_release.py``: still held 60 s after the kill, the run already FAILURE), because nothing frees
the slots of a run that has ended unless ``run_monitoring.free_slots_after_run_end_seconds`` is set.

``dagster_home/dagster.yaml`` now sets that (1 s), and :class:`HealthCheckedRunLauncher` answers the health check
from the worker's pid, which the worker reports itself ("Started process for run (pid: N)"): alive (and started
before that report, so not a reused pid) → RUNNING; gone or a zombie → FAILED, and the run's pool slots are freed at
once. Run monitoring passes every ``run_monitoring.poll_interval_seconds``, so a killed run's slot is held at most
one monitoring interval; the run is failed and ``run_retries`` launches it again.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

__all__ = ["HealthCheckedRunLauncher", "process_start_time", "worker_pid"]

_MARKER = "Started process for run (pid: "


def worker_pid(instance: DagsterInstance, run: DagsterRun) -> tuple[int, float] | None:
    """(pid, time of its report) of the run's worker, from its last "Started process for run" engine event."""
    records = instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
    for record in reversed(records):
        message = record.dagster_event.message if record.dagster_event else ""
        if message and message.startswith(_MARKER):
            return int(message[len(_MARKER):].split(")")[0]), record.timestamp
    return None


def process_start_time(pid: int) -> float | None:
    """Unix time a live process started (``/proc``); ``None`` for a process that is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
    except (OSError, StopIteration, ValueError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (command)"; field 3 of stat is fields[0]
    if fields[0] in ("Z", "X"):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


class HealthCheckedRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose run workers run monitoring can see die (see the module docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        found = worker_pid(self._instance, run)
        if found is None:  # not started yet: the start timeout of run monitoring covers it
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker reported yet")
        pid, reported = found
        started = process_start_time(pid)
        if started is not None and started <= reported + 1.0:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker {pid} is alive")
        self._instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"run worker {pid} is gone (killed or crashed); its pool slots were freed"
        )
