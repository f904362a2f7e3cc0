"""Training loop shared by GlassMLP [G] and tGlassMLP [J]: batches, losses, schedules, model selection.

- Batches: one configuration's particles at one state point (:func:`~glass_core.learning.mlp_data.batch_index`),
  visited in a fresh random order every epoch.
- Losses per batch b (:mod:`~glass_core.learning.propensity_loss`): ``"mse"``, the mean squared error;
  ``"mae"``, [G]'s stage-1 loss mean_i |y_i − ŷ_i| / s (s the standard deviation of the training labels of
  the batch's state point); ``"glassmlp"``, the full loss of [G] stage 2 and [J]: the absolute error plus
  the spatial-correlation (Gaussian shells, when the dataset has positions) and variance terms. An epoch's
  loss is the mean of its batch losses.
- Schedule: phases of (loss, epochs, learning rate) run with one Adam optimiser. Model selection: the
  epoch with the lowest validation loss among the epochs trained with the *final* loss is restored;
  early stopping (``patience`` epochs without improvement) acts in the last phase only ([G]: 300
  epochs at 5e-4, then 100 at 2e-4 with early stopping). Without validation rows the last epoch is kept.
- Determinism: :func:`deterministic_torch` seeds torch inside a forked RNG, turns on deterministic
  algorithms and fixes the thread count, restoring all three afterwards; with the same seed, data
  and thread count the trained weights are bitwise identical.
- Device: :func:`train_network` trains on the ``device`` it is given (:mod:`.device`) and returns the network on
  the CPU; the batches are copied to the device once per training.

References: [G]; [J].
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

from glass_core.learning.device import forked_rng
from glass_core.learning.mlp_data import PropensityDataset, Standardiser, batch_index, state_encoding_numpy
from glass_core.learning.propensity_loss import (
    STD_FLOOR,
    LossWeights,
    full_glassmlp_loss,
    mae_loss,
    shell_correlations,
    shell_kernels,
)

__all__ = [
    "Batch",
    "EpochRecord",
    "Phase",
    "batches_on",
    "deterministic_torch",
    "label_scales",
    "member_seed",
    "one_hot",
    "prepare_batches",
    "train_network",
]

LossName = Literal["mse", "mae", "glassmlp"]


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
    """Tensors of one batch: standardised features (b, M), type one-hot (b, n_types), state (1, 6), labels (b,),
    the label scale s of its state point (scalar), and, when the dataset has positions, the Gaussian shell
    kernels (K, b, b) of its configuration and the labels' shell correlations C_k(y) (K,)."""

    features: torch.Tensor
    types: torch.Tensor
    state: torch.Tensor
    labels: torch.Tensor
    label_scale: torch.Tensor
    kernels: torch.Tensor | None = None
    label_correlations: torch.Tensor | None = None


def one_hot(types: torch.Tensor, n_types: int) -> torch.Tensor:
    """(n, n_types) float one-hot of integer types (export-friendly: a comparison, no data-dependent shape)."""
    return (types.reshape(-1, 1) == torch.arange(n_types, device=types.device)).to(torch.float32)


def label_scales(dataset: PropensityDataset) -> dict[tuple[float, float], float]:
    """Population standard deviation of the labels of each state point (T, ⟨C_B⟩) of a labelled ``dataset``:
    the scale s of the absolute-error term ([G]: over all training labels of the time)."""
    if dataset.labels is None:
        raise ValueError("label scales need a labelled dataset")
    return {
        (float(t), float(cb)): float(np.std(dataset.labels[dataset.at_state_point(t, cb)].astype(np.float64)))
        for t, cb in dataset.state_points()
    }


def _kernel_cache_key(configuration: int, positions: np.ndarray) -> tuple[int, bytes]:
    return configuration, zlib.crc32(positions.tobytes()).to_bytes(4, "little") + len(positions).to_bytes(4, "little")


def prepare_batches(
    dataset: PropensityDataset,
    features: Standardiser,
    state: Standardiser | None,
    n_types: int,
    scales: dict[tuple[float, float], float] | None = None,
    weights: LossWeights | None = None,
) -> list[Batch]:
    """Standardised, contiguous per-(configuration, state point) batches of a labelled ``dataset``.

    ``scales``: the label scale per state point (:func:`label_scales` of the *training* rows; a state point it
    lacks uses its own batch's standard deviation). With positions in the dataset and ``weights`` given, each
    batch carries its configuration's shell kernels (built once per configuration and shared between its
    state points) and its labels' shell correlations.
    """
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
    spatial = weights is not None and rows.has_positions and weights.correlation > 0
    cache: dict[tuple[int, bytes], torch.Tensor] = {}
    batches = []
    for k, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
        point = (float(rows.temperature[a]), float(rows.target_cb[a]))
        scale = (scales or {}).get(point, float(y[a:b].std(unbiased=False)))
        kernels = correlations = None
        if spatial:
            key = _kernel_cache_key(int(rows.configuration[a]), rows.positions[a:b])
            if key not in cache:
                cache[key] = shell_kernels(rows.positions[a:b], tuple(rows.box[a]), weights.shells,
                                           weights.shell_width)
            kernels = cache[key]
            correlations = shell_correlations(y[a:b], kernels)
        batches.append(Batch(x[a:b], types[a:b], s[k : k + 1], y[a:b], torch.tensor(max(scale, STD_FLOOR)),
                             kernels, correlations))
    return batches


def _loss(name: LossName, prediction: torch.Tensor, batch: Batch, weights: LossWeights) -> torch.Tensor:
    if name == "mse":
        return torch.mean((prediction - batch.labels) ** 2)
    if name == "mae":
        return mae_loss(prediction, batch.labels, batch.label_scale)
    return full_glassmlp_loss(prediction, batch.labels, batch.label_scale, batch.kernels, batch.label_correlations,
                              weights)


def member_seed(base_seed: int, stage: str, member: int) -> int:
    """Independent 32-bit torch seed per (base seed, training stage, member index)."""
    return int(np.random.SeedSequence([int(base_seed), zlib.crc32(stage.encode()), int(member)]).generate_state(1)[0])


@contextlib.contextmanager
def deterministic_torch(seed: int, threads: int, device: torch.device | None = None) -> Iterator[None]:
    """Seeded, deterministic, fixed-thread torch inside the block; global RNG (the GPU's too when ``device`` is
    one), flag and threads restored after."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    with forked_rng(device or torch.device("cpu")):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            torch.set_num_threads(previous_threads)


def batches_on(batches: list[Batch], device: torch.device) -> list[Batch]:
    """The batches with every tensor on ``device`` (the same list on the CPU)."""
    if device.type == "cpu":
        return batches
    return [Batch(*(None if t is None else t.to(device) for t in (b.features, b.types, b.state, b.labels,
                                                                  b.label_scale, b.kernels, b.label_correlations)))
            for b in batches]


def _mean_loss(net: nn.Module, batches: list[Batch], loss: LossName, weights: LossWeights) -> float:
    if not batches:
        return float("nan")
    with torch.no_grad():
        return float(np.mean([_loss(loss, net(b.features, b.types, b.state), b, weights).item() for b in batches]))


def train_network(
    net: nn.Module,
    train: list[Batch],
    validation: list[Batch],
    phases: list[Phase],
    patience: int,
    stage: str,
    member: int,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    weights: LossWeights | None = None,
    device: torch.device | None = None,
) -> list[EpochRecord]:
    """Train ``net(features, types, state) -> (b,)`` in place through ``phases``; restore the selected epoch.

    ``weights`` are the terms of the ``"glassmlp"`` loss (default [G]'s 1, 0.5, 1). ``device`` (default the CPU)
    is where the epochs run; ``net`` ends on the CPU either way.

    Call inside :func:`deterministic_torch` for reproducible results. Returns the epoch history; the
    record of the restored epoch has ``selected=True`` (``on_epoch`` sees every record as it is made,
    before selection is known).
    """
    if not train:
        raise ValueError(f"{stage}: no training batches (empty labelled training set)")
    weights = LossWeights() if weights is None else weights
    device = device or torch.device("cpu")
    net.to(device)
    train, validation = batches_on(train, device), batches_on(validation, device)
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
                value = _loss(phase.loss, net(batch.features, batch.types, batch.state), batch, weights)
                value.backward()
                optimiser.step()
                batch_losses.append(value.item())
            net.eval()
            validation_loss = _mean_loss(net, validation, phase.loss, weights)
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
    net.to("cpu")
    net.eval()
    return history


def _selected(record: EpochRecord) -> EpochRecord:
    return EpochRecord(record.stage, record.member, record.epoch, record.loss, record.learning_rate,
                       record.train_loss, record.validation_loss, record.seconds, selected=True)
