"""CNN that tells glass from liquid configurations [O, §III A], its training and evaluation.

Architecture (after [SW20], as used by [O]): the input is the
gridded density image M(ρ) (:mod:`glass_core.structure.gridding`), shape (n_channels, G, G): [O]'s
species-blind density Σ_i δ(r − r_i) in one channel (``input_kind="density"``), or one channel per
particle type (``"per_type"``; species-aware, not in [O]'s text). Three 2D convolutions (odd kernel,
stride 1, "same" size, **circular padding** because the box is periodic), each followed by ReLU, no
pooling; then the head

- ``head="fc"`` ([O]): flatten → Linear(C₃·G², hidden) → ReLU → Dropout → Linear(hidden, 2);
- ``head="gap"``: global average over the G × G positions → Linear(C₃, hidden) → ReLU → Dropout →
  Linear(hidden, 2). Translation-invariant scores; offered for the exact Grad-CAM equivariance
  discussed in :mod:`glass_core.learning.grad_cam`. [O] excludes global pooling: this head is not theirs.

Optional input standardisation (``standardise=True`` in :func:`train_classifier`): the first module of
``features`` is a :class:`Standardise` layer, (x − μ_c)/σ_c per channel, with μ, σ buffers measured on
the training images and stored in the model (so a pickled / MLflow-logged model carries them and
Grad-CAM, which calls ``features``, sees the standardised input the network was trained on). Its
default (μ = 0, σ = 1) is the identity.

Optional symmetry augmentation (``augment=True``): each training image is drawn with a random periodic
translation by whole pixels and one of the 8 symmetries of the square (dihedral group D4). Both are
exact symmetries of the data for a periodic, isotropic, *square* box: M commutes with them (a
whole-pixel translation or a reflection / transposition of the pixel grid is the image of the
translated / reflected configuration), and the class does not change.

The network outputs logits (pre-softmax scores y^C), as Grad-CAM needs; class 0 = liquid, class 1 =
glass (:data:`LIQUID`, :data:`GLASS`). Training is Adam on the cross-entropy, CPU, deterministic for
a seed (model initialisation, shuffling and dropout draw from ``torch.manual_seed(seed)`` inside a
forked RNG, with deterministic algorithms on). [O] trains 250 epochs on 4000 + 4000 samples, with
4000/400/600 train/validation/test runs per class.

References: [O]; [SW20].
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from glass_core.learning.device import forked_rng, resolve_device

__all__ = [
    "GLASS",
    "HEADS",
    "LIQUID",
    "CNNArchitecture",
    "DataSplit",
    "EpochRecord",
    "Evaluation",
    "GlassCNN",
    "Standardise",
    "TrainingResult",
    "augment_symmetries",
    "deterministic_split",
    "evaluate",
    "predict_logits",
    "train_classifier",
]

LIQUID = 0
GLASS = 1
#: ``fc``: [O]'s flatten + dense head (no pooling); ``gap``: global average pooling before the dense layers
HEADS: tuple[str, ...] = ("fc", "gap")


@dataclass(frozen=True)
class CNNArchitecture:
    """Hyper-parameters of :class:`GlassCNN` (everything but the input shape).

    Defaults are ours ([O]'s supplement values are not in the text): 16 channels per conv layer,
    3 × 3 kernels, 32 hidden units, dropout 0.5, the paper's fully connected head.
    """

    conv_channels: tuple[int, int, int] = (16, 16, 16)
    kernel_size: int = 3
    hidden: int = 32
    dropout: float = 0.5
    head: Literal["fc", "gap"] = "fc"


class Standardise(nn.Module):
    """Per-channel (x − mean)/std with the statistics as buffers (saved and pickled with the model)."""

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_channels))
        self.register_buffer("std", torch.ones(n_channels))

    def set_statistics(self, images: torch.Tensor) -> None:
        """Mean and standard deviation over samples and pixels of ``images`` (S, C, G, G), per channel."""
        self.mean.copy_(images.mean(dim=(0, 2, 3)))
        self.std.copy_(images.std(dim=(0, 2, 3)).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[:, None, None]) / self.std[:, None, None]


class GlassCNN(nn.Module):
    """Three circular-padded conv layers + ReLU (no pooling), then a dense head with dropout → 2 logits.

    Args:
        n_channels: input channels (1 for the species-blind density, else the particle types).
        grid: G, the input is (B, n_channels, G, G).
        conv_channels: output channels of the three conv layers.
        kernel_size: odd kernel side; padding kernel_size // 2 keeps the G × G size.
        hidden: units of the hidden dense layer.
        dropout: dropout probability before the output layer.
        head: ``"fc"`` (flatten, [O]) or ``"gap"`` (global average pooling).

    ``features(x)`` returns the last conv layer's activations A (B, C₃, G, G) (after ReLU); ``head(A)``
    the logits (B, 2); ``forward(x) = head(features(x))``. ``features[0]`` is a :class:`Standardise`
    layer (identity until its statistics are set, see :meth:`set_input_statistics`).
    """

    def __init__(
        self,
        n_channels: int,
        grid: int,
        conv_channels: Sequence[int] = (16, 16, 16),
        kernel_size: int = 3,
        hidden: int = 32,
        dropout: float = 0.5,
        head: Literal["fc", "gap"] = "fc",
    ) -> None:
        super().__init__()
        if len(conv_channels) != 3:
            raise ValueError(f"GlassCNN has three conv layers, got conv_channels={tuple(conv_channels)}")
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd to keep the grid size, got {kernel_size}")
        self.n_channels, self.grid = n_channels, grid
        layers: list[nn.Module] = [Standardise(n_channels)]
        previous = n_channels
        for channels in conv_channels:
            layers += [
                nn.Conv2d(previous, channels, kernel_size, padding=kernel_size // 2, padding_mode="circular"),
                nn.ReLU(),
            ]
            previous = channels
        self.features = nn.Sequential(*layers)
        if head == "fc":
            pool: list[nn.Module] = [nn.Flatten()]
            n_in = previous * grid * grid
        elif head == "gap":
            pool = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            n_in = previous
        else:
            raise ValueError(f"unknown head {head!r}: use one of {HEADS}")
        self.head = nn.Sequential(*pool, nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2))

    @classmethod
    def from_architecture(cls, n_channels: int, grid: int, architecture: CNNArchitecture) -> GlassCNN:
        return cls(n_channels, grid, **asdict(architecture))

    def set_input_statistics(self, images: torch.Tensor) -> None:
        """Standardise inputs per channel with the mean and std of ``images`` (the training set)."""
        self.features[0].set_statistics(images)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_channels, G, G) images → (B, 2) logits."""
        return self.head(self.features(x))


# ------------------------------------------------------------------------------------------ data split
@dataclass(frozen=True)
class DataSplit:
    """Row indices of the train / validation / test subsets (each sorted ascending)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def deterministic_split(
    sample_ids: Sequence[Any] | np.ndarray,
    fractions: tuple[float, float, float] = (0.8, 0.08, 0.12),
    seed: int = 0,
) -> DataSplit:
    """Split rows by sample: all rows with the same id land in the same subset.

    In [O] a quench run gives both a liquid and a glass snapshot; keying the split on the run keeps the
    two out of different subsets. The distinct ids are sorted, permuted by ``numpy.random.default_rng
    (seed)``, and cut into round(f_train n), round(f_val n) and the rest (paper: 4000/400/600 of 5000),
    so the split depends on the set of ids and the seed only, not on the row order.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    ids = np.asarray(sample_ids)
    unique, inverse = np.unique(ids, return_inverse=True)
    permuted = np.random.default_rng(seed).permutation(len(unique))
    n_train = int(round(fractions[0] * len(unique)))
    n_val = int(round(fractions[1] * len(unique)))
    subset = np.empty(len(unique), dtype=np.int64)
    subset[permuted[:n_train]] = 0
    subset[permuted[n_train : n_train + n_val]] = 1
    subset[permuted[n_train + n_val :]] = 2
    row_subset = subset[inverse.ravel()]
    return DataSplit(*(np.flatnonzero(row_subset == k) for k in range(3)))


# ---------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class EpochRecord:
    """Mean cross-entropy and accuracy of one epoch (validation: NaN without a validation set)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    seconds: float


@dataclass
class TrainingResult:
    """The trained model (eval mode) and one :class:`EpochRecord` per epoch."""

    model: GlassCNN
    history: list[EpochRecord] = field(default_factory=list)


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch inside a forked RNG state (the GPU's too on one) with deterministic algorithms; restore both."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    with forked_rng(device):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic)


def _as_tensor(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(images, dtype=torch.float32)


def _loss_and_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    if len(y) == 0:
        return float("nan"), float("nan")
    logits, y = predict_logits(model, x, batch_size), y.cpu()
    loss = nn.functional.cross_entropy(logits, y, reduction="mean").item()
    return loss, (logits.argmax(1) == y).float().mean().item()


def augment_symmetries(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` (B, C, G, G) under its own random symmetry of the periodic square box.

    A periodic translation by (i, j) whole pixels, i, j uniform in 0 … G − 1, then one of the 8
    elements of D4 (optional transposition of the two spatial axes, then optional reversal of each).
    Reversing axis k maps pixel centre (k + ½)Δ to (G − k − ½)Δ, i.e. the reflection x → L − x, so all
    of these are exact images of symmetry-transformed configurations (square box: Lx = Ly).
    """
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"augmentation needs square (B, C, G, G) images, got {tuple(x.shape)}")
    grid = x.shape[2]
    shifts = torch.randint(0, grid, (len(x), 2), generator=generator)
    flags = torch.randint(0, 2, (len(x), 3), generator=generator)
    out = []
    for image, (dx, dy), (transpose, flip_x, flip_y) in zip(x, shifts.tolist(), flags.tolist(), strict=True):
        image = torch.roll(image, (dx, dy), dims=(1, 2))
        if transpose:
            image = image.transpose(1, 2)
        dims = [d for d, flag in ((1, flip_x), (2, flip_y)) if flag]
        out.append(image.flip(dims) if dims else image)
    return torch.stack(out)


def _train_epoch(
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    augment: bool = False,
) -> tuple[float, float]:
    """One pass over ``rows`` in shuffled mini-batches; returns the sample-weighted running mean of the
    batch losses and accuracies (train mode, dropout on; augmented images if ``augment``)."""
    model.train()
    loss_sum = correct = 0.0
    for batch in torch.randperm(len(rows), generator=generator).split(batch_size):
        picked = rows[batch]
        optimiser.zero_grad(set_to_none=True)
        inputs = augment_symmetries(x[picked], generator) if augment else x[picked]
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits, y[picked])
        loss.backward()
        optimiser.step()
        loss_sum += loss.item() * len(picked)
        correct += (logits.argmax(1) == y[picked]).sum().item()
    return loss_sum / len(rows), correct / len(rows)


def train_classifier(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    split: DataSplit,
    *,
    epochs: int = 250,
    lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
    architecture: CNNArchitecture | None = None,
    weight_decay: float = 0.0,
    standardise: bool = False,
    augment: bool = False,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    validate_every: int = 1,
    device: str | torch.device = "cpu",
) -> TrainingResult:
    """Train a :class:`GlassCNN` on ``images[split.train]`` with Adam and cross-entropy on ``device``.

    Args:
        images: (S, n_channels, G, G) density images (:meth:`Gridding.images`).
        labels: (S,) int class per image (:data:`LIQUID` = 0, :data:`GLASS` = 1).
        split: which rows train and validate (:func:`deterministic_split`); test rows are not touched.
        epochs: passes over the training images.
        lr: Adam's learning rate.
        batch_size: images per mini-batch (the last batch may be smaller).
        seed: seeds initialisation, shuffling and dropout; same inputs and seed → same model.
        architecture: network hyper-parameters (default :class:`CNNArchitecture`).
        weight_decay: Adam's L2 weight decay.
        standardise: store the per-channel mean and std of the training images in the model's
            :class:`Standardise` layer, so that it sees (x − μ)/σ (also at evaluation and in Grad-CAM).
        augment: train on symmetry-augmented images (:func:`augment_symmetries`; square box only).
        on_epoch: called with each :class:`EpochRecord` (e.g. to log metrics to MLflow).
        validate_every: evaluate the validation images after every k-th epoch and the last (NaN in the records
            between): at N = 2000 one pass over the validation set costs about a third of a training epoch on
            as many images, and the model kept is the last one either way.
        device: where the epochs run (:func:`~.device.resolve_device`: ``auto``, ``cpu``, ``cuda[:n]``); shuffling
            and augmentation draw from a CPU generator, so the batches are the same on every device.

    Returns:
        :class:`TrainingResult`; the model is left in eval mode, on the CPU. A record's train loss and accuracy
        are running means over the epoch's mini-batches (train mode, dropout on, weights changing);
        its validation metrics are evaluated after the epoch in eval mode.
    """
    x = _as_tensor(images)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if x.ndim != 4 or x.shape[2] != x.shape[3] or len(x) != len(y):
        raise ValueError(f"images must be (S, C, G, G) with one label each, got {tuple(x.shape)}, {len(y)}")
    train_idx = torch.as_tensor(split.train, dtype=torch.long)
    val_idx = torch.as_tensor(split.validation, dtype=torch.long)
    if len(train_idx) == 0:
        raise ValueError("the training split is empty")
    if validate_every < 1:
        raise ValueError(f"validate_every must be at least 1, got {validate_every}")
    device = resolve_device(device)
    with _seeded(seed, device):
        model = GlassCNN.from_architecture(x.shape[1], x.shape[2], architecture or CNNArchitecture())
        if standardise:
            model.set_input_statistics(x[train_idx])
        model.to(device)
        x, y = x.to(device), y.to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        generator = torch.Generator().manual_seed(seed)
        history = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train_metrics = _train_epoch(model, optimiser, x, y, train_idx, batch_size, generator, augment)
            model.eval()
            if epoch % validate_every == 0 or epoch == epochs:
                val_metrics = _loss_and_accuracy(model, x[val_idx], y[val_idx], 4 * batch_size)
            else:
                val_metrics = (float("nan"), float("nan"))
            record = EpochRecord(epoch, *train_metrics, *val_metrics, time.perf_counter() - start)
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
    model.to("cpu")
    model.eval()
    return TrainingResult(model, history)


# -------------------------------------------------------------------------------------- evaluation
def predict_logits(model: nn.Module, images: np.ndarray | torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """(S, 2) logits of ``images`` in eval mode, without gradients (the model's mode is restored), computed on the
    model's device and returned on the CPU."""
    device = next(model.parameters(), torch.empty(0)).device  # a model without parameters runs on the CPU
    x = _as_tensor(images)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [model(chunk.to(device)).cpu() for chunk in x.split(batch_size)] if len(x) else [torch.empty(0, 2)]
    model.train(was_training)
    return torch.cat(out)


@dataclass(frozen=True)
class Evaluation:
    """Classification quality on a labelled set.

    Attributes:
        accuracy: overall fraction correct.
        per_class_accuracy: (2,) recall of liquid and glass (NaN for an absent class).
        confusion: (2, 2) counts, rows = true class, columns = predicted class.
        predictions: (S,) predicted class.
        probabilities: (S, 2) softmax of the logits.
    """

    accuracy: float
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray


def evaluate(
    model: nn.Module, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, batch_size: int = 128
) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix of ``model`` on ``images``."""
    logits = predict_logits(model, images, batch_size)
    truth = np.asarray(labels, dtype=np.int64)
    predicted = logits.argmax(1).numpy()
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = np.full(2, np.nan)
    totals = confusion.sum(axis=1)
    per_class[totals > 0] = np.diag(confusion)[totals > 0] / totals[totals > 0]
    accuracy = float(np.trace(confusion) / max(len(truth), 1)) if len(truth) else float("nan")
    return Evaluation(accuracy, per_class, confusion, predicted, torch.softmax(logits, 1).numpy())
