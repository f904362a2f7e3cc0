"""Training loop shared by GlassMLP [G] and tGlassMLP [J]: batches, losses, schedules, model selection.

- Batches: one configuration's particles at one state point (:func:`~glass_core.learning.mlp_data.batch_index`),
  visited in a fresh random order every epoch.
- Losses per batch b: mean squared error, and the GlassMLP loss [G stage 1]
  L_b = mean_i |y_i − ŷ_i| / std_b(y), std the population standard deviation of the batch's labels,
  floored at :data:`STD_FLOOR` so a batch of (nearly) equal labels cannot blow up. An epoch's loss is
  the mean of its batch losses.
- Schedule: phases of (loss, epochs, learning rate) run with one Adam optimiser. Model selection: the
  epoch with the lowest validation loss among the epochs trained with the *final* loss is restored;
  early stopping (``patience`` epochs without improvement) acts in the last phase only ([G]: 300
  epochs at 5e-4, then 100 at 2e-4 with early stopping). Without validation rows the last epoch is kept.
- Determinism: :func:`deterministic_torch` seeds torch inside a forked RNG, turns on deterministic
  algorithms and fixes the thread count, restoring all three afterwards; with the same seed, data
  and thread count the trained weights are bitwise identical.

[G] Jung, Biroli, Berthier, PRL 130, 238202 (2023). [J] Jung, Biroli, Berthier, arXiv:2310.20252.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from glass_core.learning.mlp_data import PropensityDataset, Standardiser, batch_index, state_encoding_numpy

__all__ = [
    "STD_FLOOR",
    "Batch",
    "EpochRecord",
    "Phase",
    "deterministic_torch",
    "glassmlp_loss",
    "member_seed",
    "one_hot",
    "prepare_batches",
    "train_network",
]

STD_FLOOR = 1e-3
LossName = Literal["mse", "glassmlp"]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one network: which training, which loss, and its mean batch losses.

    ``stage`` names the training ("glassmlp", "equal_cb=0.5", "tglassmlp"); ``validation_loss`` is in the
    same loss as ``train_loss`` (NaN without validation rows); ``selected`` marks the restored epoch.
    """

    stage: str
    member: int
    epoch: int
    loss: str
    learning_rate: float
    train_loss: float
    validation_loss: float
    seconds: float
    selected: bool = False


@dataclass(frozen=True)
class Phase:
    loss: LossName
    epochs: int
    learning_rate: float


@dataclass(frozen=True)
class Batch:
    """Tensors of one batch: standardised features (b, M), type one-hot (b, n_types), state (1, 6), labels (b,)."""

    features: torch.Tensor
    types: torch.Tensor
    state: torch.Tensor
    labels: torch.Tensor


def one_hot(types: torch.Tensor, n_types: int) -> torch.Tensor:
    """(n, n_types) float one-hot of integer types (export-friendly: a comparison, no data-dependent shape)."""
    return (types.reshape(-1, 1) == torch.arange(n_types, device=types.device)).to(torch.float32)


def prepare_batches(
    dataset: PropensityDataset, features: Standardiser, state: Standardiser | None, n_types: int
) -> list[Batch]:
    """Standardised, contiguous per-(configuration, state point) batches of a labelled ``dataset``."""
    if dataset.labels is None:
        raise ValueError("training batches need a labelled dataset")
    if not len(dataset):
        return []
    order, starts = batch_index(dataset)
    rows = dataset.subset(order)
    with torch.no_grad():
        x = features(torch.from_numpy(rows.features))
        types = one_hot(torch.from_numpy(rows.types), n_types)
        encoded = torch.from_numpy(state_encoding_numpy(rows.temperature[starts[:-1]], rows.target_cb[starts[:-1]]))
        s = state(encoded.float()) if state is not None else torch.zeros(len(starts) - 1, 6)
    y = torch.from_numpy(rows.labels)
    bounds = zip(starts[:-1], starts[1:], strict=True)
    return [Batch(x[a:b], types[a:b], s[k : k + 1], y[a:b]) for k, (a, b) in enumerate(bounds)]


def glassmlp_loss(prediction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean|y − ŷ| / max(std(y), STD_FLOOR) over one batch [G stage 1]."""
    return (prediction - labels).abs().mean() / labels.std(unbiased=False).clamp_min(STD_FLOOR)


def _loss(name: LossName, prediction: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if name == "mse":
        return torch.mean((prediction - labels) ** 2)
    return glassmlp_loss(prediction, labels)


def member_seed(base_seed: int, stage: str, member: int) -> int:
    """Independent 32-bit torch seed per (base seed, training stage, member index)."""
    return int(np.random.SeedSequence([int(base_seed), zlib.crc32(stage.encode()), int(member)]).generate_state(1)[0])


@contextlib.contextmanager
def deterministic_torch(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic, fixed-thread torch inside the block; global RNG, flag and threads restored after."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            torch.set_num_threads(previous_threads)


def _mean_loss(net: nn.Module, batches: list[Batch], loss: LossName) -> float:
    if not batches:
        return float("nan")
    with torch.no_grad():
        return float(np.mean([_loss(loss, net(b.features, b.types, b.state), b.labels).item() for b in batches]))


def train_network(
    net: nn.Module,
    train: list[Batch],
    validation: list[Batch],
    phases: list[Phase],
    patience: int,
    stage: str,
    member: int,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> list[EpochRecord]:
    """Train ``net(features, types, state) -> (b,)`` in place through ``phases``; restore the selected epoch.

    Call inside :func:`deterministic_torch` for reproducible results. Returns the epoch history; the
    record of the restored epoch has ``selected=True`` (``on_epoch`` sees every record as it is made,
    before selection is known).
    """
    if not train:
        raise ValueError(f"{stage}: no training batches (empty labelled training set)")
    optimiser = torch.optim.Adam(net.parameters(), lr=phases[0].learning_rate, fused=True)  # one kernel per step
    final_loss = phases[-1].loss
    best_loss, best_state, best_index, history = float("inf"), None, -1, []
    epoch = 0
    for phase_number, phase in enumerate(phases):
        for group in optimiser.param_groups:
            group["lr"] = phase.learning_rate
        stale = 0
        for _ in range(phase.epochs):
            start = time.perf_counter()
            net.train()
            batch_losses = []
            for k in torch.randperm(len(train)).tolist():
                batch = train[k]
                optimiser.zero_grad()
                value = _loss(phase.loss, net(batch.features, batch.types, batch.state), batch.labels)
                value.backward()
                optimiser.step()
                batch_losses.append(value.item())
            net.eval()
            validation_loss = _mean_loss(net, validation, phase.loss)
            record = EpochRecord(stage, member, epoch, phase.loss, phase.learning_rate, float(np.mean(batch_losses)),
                                 validation_loss, time.perf_counter() - start)
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
            epoch += 1
            if phase.loss != final_loss:
                continue
            score = validation_loss if validation else -float(epoch)  # no validation: the last epoch wins
            if score < best_loss:
                best_loss, best_index, stale = score, len(history) - 1, 0
                best_state = {key: value.detach().clone() for key, value in net.state_dict().items()}
            else:
                stale += 1
                if phase_number == len(phases) - 1 and stale >= patience:
                    break
    if best_state is not None:
        net.load_state_dict(best_state)
        history[best_index] = _selected(history[best_index])
    net.eval()
    return history


def _selected(record: EpochRecord) -> EpochRecord:
    return EpochRecord(record.stage, record.member, record.epoch, record.loss, record.learning_rate,
                       record.train_loss, record.validation_loss, record.seconds, selected=True)
