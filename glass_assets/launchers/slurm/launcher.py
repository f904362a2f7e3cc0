"""The :class:`SlurmLauncher`: its settings, the sbatch script of an array, submission, following the array while
it runs (scancel on any early exit), and resubmitting the items of lost tasks.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from glass_assets.compute_accounting import record_launch_metadata
from glass_assets.launchers.base import (
    REPO_ROOT,
    WORKER_MODULE,
    ProgressCallback,
    SimulationLauncher,
    result_paths,
    worker_environment,
)
from glass_assets.launchers.slurm.accounting import account
from glass_assets.launchers.slurm.arrays import (
    NOT_RETRIED_STATES,
    ArrayTask,
    SlurmConfigError,
    SlurmError,
    SubmittedArray,
    count_states,
    describe_lost_task,
    item_failure_error,
    stream_events,
    worker_result,
)
from glass_assets.launchers.slurm.commands import (
    cancel,
    find_slurm_commands,
    run_slurm,
    sacct_states,
    task_states,
    usable_scratch_folder,
)

__all__ = ["SlurmLauncher"]


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
