"""Networks trained through the launcher: an asset's trainings become one ``training`` task batch.

:func:`train_through_launcher` writes the inputs (:func:`glass_core.learning.training_task.write_training_inputs`)
under ``<scratch>/training/<asset>/<partition>/``, runs them with ``launcher.run_tasks("training", …)`` — locally in
worker processes, on Slurm as a job array with the ``training_*`` settings of :class:`SlurmLauncher` (a GPU
partition, ``--gres``) — turns the workers' ``epoch`` events back into the trainer's epoch records for the asset's
own progress callback, and returns the trained results in input order. The asset then scores, logs and registers
as it did when it trained in its own process: no asset body has a second code path for Slurm.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glass_assets.launchers.base import SimulationLauncher
from glass_core.learning.training_task import epoch_record, read_training_result, write_training_inputs

__all__ = ["TrainedResult", "train_through_launcher", "training_scratch"]


@dataclass(frozen=True)
class TrainedResult:
    """What one training task returned: the trainer's result (network on the CPU), where and how long it trained."""

    result: Any
    device: str
    train_seconds: float
    threads: int
    gpu_seconds: float


def training_scratch(scratch_dir: str | Path, asset: str, partition: str) -> Path:
    """``<scratch>/training/<asset>/<partition>``: the inputs and results of an asset partition's trainings."""
    return Path(scratch_dir) / "training" / asset / partition.replace("|", "_").replace("/", "_")


def train_through_launcher(
    launcher: SimulationLauncher,
    trainer: str,
    arguments: list[dict[str, Any]],
    scratch: Path,
    device: str,
    threads: int = 0,
    on_epoch: Callable[[Any], None] | None = None,
    log: Any | None = None,
    what: str = "training",
) -> list[TrainedResult]:
    """Train ``trainer`` once per entry of ``arguments`` as launcher tasks (module doc); results in input order.

    ``device`` and ``threads`` are the profile's ``compute`` settings; ``on_epoch`` gets each epoch record as the
    workers report it; ``log`` (a Dagster logger) gets the launcher's messages and one line per finished training.
    The scratch folder of the batch is removed once its results are read."""
    folder, items = write_training_inputs(scratch, trainer, arguments)

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "epoch":
            if on_epoch is not None:
                on_epoch(epoch_record(event))
        elif log is not None and kind == "item_done":
            log.info(f"{what} {int(event['item']['sample']) + 1}/{len(items)} trained on {event.get('device')} in "
                     f"{float(event.get('train_seconds', 0.0)):.1f} s ({event.get('threads')} threads)")
        elif log is not None and "message" in event:
            log.info(str(event["message"]))

    paths = launcher.run_tasks("training", {"device": device, "threads": threads}, items, folder, on_event)
    loaded = [read_training_result(path) for path in paths]
    shutil.rmtree(folder, ignore_errors=True)
    return [
        TrainedResult(r["result"], r["device"], float(r["train_seconds"]), int(r["threads"]), float(r["gpu_seconds"]))
        for r in loaded
    ]
