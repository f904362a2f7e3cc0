"""Slurm's client commands: finding them, running them with a timeout, the scratch folder the compute nodes share,
task states from ``squeue`` (and ``sacct`` for tasks squeue forgot), and ``scancel``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from glass_assets.launchers.base import ProgressCallback
from glass_assets.launchers.slurm.arrays import SlurmError, SlurmUnavailableError, SubmittedArray

__all__ = [
    "COMMAND_TIMEOUT_S",
    "SLURM_COMMANDS",
    "cancel",
    "find_slurm_commands",
    "run_slurm",
    "sacct_states",
    "task_states",
    "usable_scratch_folder",
]

SLURM_COMMANDS = ("sbatch", "squeue", "scancel")
COMMAND_TIMEOUT_S = 60


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
