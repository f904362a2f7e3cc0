"""Training as a worker task: a network trained from an inputs file, its trained state written back atomically.

So that a network trains where the simulations run (a worker process, or a Slurm job on a GPU node) and not in
the process that orchestrates, training is a task like a quench:

1. the caller writes the trainer's arguments (datasets, settings, seeds) of one or several trainings with
   :func:`write_training_inputs` into a folder named by their digest (``<root>/<trainer>_<sha256[:16]>/``, one
   ``inputs_XXXXXX.pt`` each, written atomically);
2. a launcher runs the task kind ``training`` with one item per training, ``{"sample": i, "inputs": ".../inputs_…pt"}``,
   and the params ``{"device": "auto", "threads": 0}``; :func:`training_item` trains there, prints one JSON ``epoch``
   event per epoch (so the caller's progress log is the same as in-process), and writes the result file only once
   training is done;
3. the caller reads the result with :func:`read_training_result`: the trainer's own return value (the network on
   the CPU), the device it trained on, its seconds and threads.

The trainers are :func:`~.glassmlp.train_glassmlp` [G], :func:`~.tglassmlp_training.train_tglassmlp` [J] and
:func:`~.cnn.train_classifier` [O]; ``tglassmlp_predict`` (:func:`~.tglassmlp.predict_at_targets`) runs the
large-box inference the same way, on the CPU (its folded networks reach ~10⁶ particles/s there,
``benchmarks/tglassmlp_inference.py``). The same arguments give the same result bit for bit on the CPU as a call
in the caller's process with the same thread count (the inputs are pickled by ``torch.save``, never converted).
The inputs and results are trusted files of this platform's own scratch folder, read with ``weights_only=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glass_core.files import atomic_savez, atomic_write_bytes, item_result_path
from glass_core.learning import cnn, mlp_training
from glass_core.learning.device import device_label, resolve_device

__all__ = [
    "EPOCH_RECORDS",
    "TRAINERS",
    "TRAINING",
    "TrainingTaskError",
    "epoch_record",
    "read_training_result",
    "task_threads",
    "training_inputs",
    "training_item",
    "write_training_inputs",
]


def _trainers() -> dict[str, Callable[..., Any]]:
    from glass_core.learning.glassmlp import train_glassmlp
    from glass_core.learning.tglassmlp import predict_at_targets
    from glass_core.learning.tglassmlp_training import train_tglassmlp

    return {"glassmlp": train_glassmlp, "tglassmlp": train_tglassmlp, "cnn": cnn.train_classifier,
            "tglassmlp_predict": predict_at_targets}


#: trainer name → the class of its epoch records (rebuilt from the ``epoch`` events)
EPOCH_RECORDS: dict[str, type] = {
    "glassmlp": mlp_training.EpochRecord,
    "tglassmlp": mlp_training.EpochRecord,
    "cnn": cnn.EpochRecord,
}
#: the ones that train: they take the task's ``device`` and report each epoch
TRAINING: frozenset[str] = frozenset(EPOCH_RECORDS)
#: what a task can run: the trainers, and the large-box inference ``tglassmlp_predict``
#: (:func:`~.tglassmlp.predict_at_targets`: on the CPU, no epochs)
TRAINERS: tuple[str, ...] = (*EPOCH_RECORDS, "tglassmlp_predict")


class TrainingTaskError(RuntimeError):
    """A training task's inputs are missing, unreadable or name no trainer, or its result file is partial."""


def training_inputs(trainer: str, arguments: dict[str, Any]) -> bytes:
    """The inputs file of one training: ``torch.save`` of the trainer's name and its keyword arguments."""
    if trainer not in TRAINERS:
        raise TrainingTaskError(f"unknown trainer {trainer!r}; known: {list(TRAINERS)}")
    forbidden = {"on_epoch", "device"} & set(arguments)
    if forbidden:
        raise TrainingTaskError(f"{sorted(forbidden)} are set by the training task, not passed in its inputs")
    buffer = io.BytesIO()
    torch.save({"trainer": trainer, "arguments": arguments}, buffer)
    return buffer.getvalue()


def write_training_inputs(
    root: str | Path, trainer: str, arguments: list[dict[str, Any]]
) -> tuple[Path, list[dict[str, Any]]]:
    """Write one inputs file per training of ``arguments`` (atomically) into ``root/<trainer>_<digest>/``; return
    that folder (the task's ``out_dir``) and the task items ``{"sample": i, "inputs": path}``.

    The folder is named by the digest of every input, so a rerun with the same inputs finds the results that had
    finished and a changed input trains afresh."""
    blobs = [training_inputs(trainer, a) for a in arguments]
    digest = hashlib.sha256(b"".join(hashlib.sha256(blob).digest() for blob in blobs)).hexdigest()[:16]
    folder = Path(root) / f"{trainer}_{digest}"
    items = []
    for index, blob in enumerate(blobs):
        path = folder / f"inputs_{index:06d}.pt"
        if not path.exists():
            atomic_write_bytes(path, blob)
        items.append({"sample": index, "inputs": str(path)})
    return folder, items


def _read_inputs(path: Path, sample: object) -> dict[str, Any]:
    if not path.exists():
        raise TrainingTaskError(f"training task item {sample}: its inputs file {path} does not exist (the asset "
                                "writes it before launching; was the scratch folder shared with this node?)")
    try:
        payload = torch.load(path, weights_only=False)
        trainer = payload["trainer"]
        payload["arguments"].keys()  # a dict of arguments, or the file is not a training inputs file
    except Exception as error:  # a truncated or foreign file: say which
        raise TrainingTaskError(f"training task item {sample}: cannot read its inputs file {path}: "
                                f"{type(error).__name__}: {error}") from error
    if trainer not in TRAINERS:
        raise TrainingTaskError(f"training task item {sample}: inputs file {path} names trainer {trainer!r}; "
                                f"known: {list(TRAINERS)}")
    return payload


def task_threads(requested: int) -> int:
    """torch's threads in a task: ``requested``, else Slurm's CPUs for the task, else every core here."""
    return int(requested) or int(os.environ.get("SLURM_CPUS_PER_TASK") or 0) or os.cpu_count() or 1


def training_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``training``: train as the item's inputs file says, write the result file (module doc)."""
    payload = _read_inputs(Path(item["inputs"]), item.get("sample"))
    trainer = payload["trainer"]
    device = resolve_device(params.get("device", "auto")) if trainer in TRAINING else torch.device("cpu")
    threads = task_threads(int(params.get("threads") or 0))
    torch.set_num_threads(threads)

    def on_epoch(record: object) -> None:
        print(json.dumps({"event": "epoch", "trainer": trainer, "item": item, "record": asdict(record)}), flush=True)

    started = time.perf_counter()
    extra = {"on_epoch": on_epoch, "device": device} if trainer in TRAINING else {}
    result = _trainers()[trainer](**payload["arguments"], **extra)
    seconds = time.perf_counter() - started
    info = {"trainer": trainer, "device": device_label(device), "train_seconds": seconds, "threads": threads,
            "gpu_seconds": seconds if device.type == "cuda" else 0.0}
    buffer = io.BytesIO()
    torch.save({"result": result, **info}, buffer)
    atomic_savez(item_result_path(out_dir, item), result=np.frombuffer(buffer.getvalue(), dtype=np.uint8))
    return info


def read_training_result(path: str | Path) -> dict[str, Any]:
    """``{"result": …, "trainer", "device", "train_seconds", "threads", "gpu_seconds"}`` of a training result file."""
    try:
        with np.load(path) as stored:
            data = stored["result"].tobytes()
        return torch.load(io.BytesIO(data), weights_only=False)
    except Exception as error:
        raise TrainingTaskError(f"training result {path} is unreadable (partial or foreign): "
                                f"{type(error).__name__}: {error}") from error


def epoch_record(event: dict[str, Any]) -> object:
    """The epoch record an ``epoch`` event carries, as its trainer's record class."""
    return EPOCH_RECORDS[event["trainer"]](**event["record"])
