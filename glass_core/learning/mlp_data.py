"""Data of the propensity networks [G],[J]: rows, splits, standardisation, state-point encoding, scores.

A :class:`PropensityDataset` holds one row per particle *and state point*: M structural descriptors
(unstandardised, e.g. the 4 observables × 4 channels × N_L coarse-graining lengths of [G] and [J]),
the particle type, the id of the configuration it belongs to, the state point (T, ⟨C_B⟩) and, when
known, the bond-breaking propensity (label). ⟨C_B⟩ encodes time through time–temperature
superposition [J §II.1]; for unlabelled rows it is the *requested* value.

- Split: by configuration id (:func:`split_by_configuration`), so all rows of a configuration (all its
  particles at all its state points) land in one subset; ids should therefore name a structure.
- Batches: one configuration's particles at one state point ([G],[J] use one configuration's
  particles of one type; :func:`batch_index` groups rows by (configuration, T, ⟨C_B⟩)).
- Standardisation: x' = (x − μ)/σ per feature, μ and σ (population) over the training rows only, kept
  as buffers of :class:`Standardiser` inside the model; σ < 1e-12 (a constant feature) is taken as 1.
- State-point encoding of tGlassMLP (6 inputs of MLP1/MLP2, [J App. B]; the paper's list is not
  legible in our copy): s(T, C) = (T, 1/T, C, ln C, ln(1 − C), ln(−ln C)). The last is linear in
  ln t for a stretched exponential C = exp(−(t/τ)^β) (ln(−ln C) = β ln t − β ln τ), so the network
  sees a log-time coordinate; ln C and ln(1 − C) resolve the long- and short-time ends. C is clamped
  to [1e-4, 1 − 1e-4] so every entry stays finite.
- Positions: optionally each row's particle position and its configuration's periodic box, which the
  spatial-correlation term of the loss needs (:mod:`~glass_core.learning.propensity_loss`).
- Informative descriptors: a column whose variance over the training rows is below
  :data:`VARIANCE_THRESHOLD` (at L = 0 the density of all particles is 1 and the energy variance 0 for every
  particle) carries no information; [G]'s scripts drop it before training (:func:`informative_columns`).
- Score: Pearson correlation of prediction and label per state point [J eq. 8].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from glass_core.learning.cnn import deterministic_split

__all__ = [
    "CB_CLAMP",
    "N_STATE_INPUTS",
    "VARIANCE_THRESHOLD",
    "DatasetError",
    "PropensityDataset",
    "StatePointScore",
    "Standardiser",
    "batch_index",
    "concatenate",
    "extrapolation_spans",
    "informative_columns",
    "pearson_per_state_point",
    "split_by_configuration",
    "state_encoding",
    "state_encoding_numpy",
]

CB_CLAMP = 1e-4
N_STATE_INPUTS = 6
#: [G]: descriptors whose variance over the training rows is below this are dropped before training
VARIANCE_THRESHOLD = 1e-5


class DatasetError(ValueError):
    """A :class:`PropensityDataset` array has the wrong shape or an invalid value; the message names it."""


@dataclass
class PropensityDataset:
    """Rows = particles of configurations at one or more state points.

    Attributes (n rows, M descriptors):
        features: (n, M) float32 descriptors, unstandardised.
        types: (n,) int type index 0..n_types−1.
        configuration: (n,) int id of the configuration the particle belongs to.
        temperature: (n,) float, T > 0.
        target_cb: (n,) float in (0, 1], the state point's configuration-averaged ⟨C_B⟩.
        labels: (n,) float propensity, or None for unlabelled (prediction-only) rows.
        positions: (n, 2) particle positions, or None (needed by the loss's spatial-correlation term).
        box: (n, 2) periodic box sides of each row's configuration, given with ``positions``.
    """

    features: np.ndarray
    types: np.ndarray
    configuration: np.ndarray
    temperature: np.ndarray
    target_cb: np.ndarray
    labels: np.ndarray | None = None
    positions: np.ndarray | None = None
    box: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.features = np.ascontiguousarray(self.features, dtype=np.float32)
        if self.features.ndim != 2:
            raise DatasetError(f"features must be (n, M), got shape {self.features.shape}")
        n = len(self.features)
        self.types = _column("types", self.types, n, np.int64)
        self.configuration = _column("configuration", self.configuration, n, np.int64)
        self.temperature = _column("temperature", self.temperature, n, np.float64)
        self.target_cb = _column("target_cb", self.target_cb, n, np.float64)
        if self.labels is not None:
            self.labels = _column("labels", self.labels, n, np.float32)
        if not np.isfinite(self.features).all():
            raise DatasetError("features contain NaN or infinite values")
        if n and self.types.min() < 0:
            raise DatasetError(f"types must be ≥ 0, got {self.types.min()}")
        if n and not (self.temperature > 0).all():
            raise DatasetError("temperature must be > 0 and finite")
        if n and not ((self.target_cb > 0) & (self.target_cb <= 1)).all():
            raise DatasetError("target_cb must lie in (0, 1]")
        if self.labels is not None and not np.isfinite(self.labels).all():
            raise DatasetError("labels contain NaN or infinite values")
        if (self.positions is None) != (self.box is None):
            raise DatasetError("positions and box come together: give both or neither")
        if self.positions is not None:
            self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
            self.box = np.ascontiguousarray(np.broadcast_to(self.box, (n, 2)), dtype=np.float64)
            if self.positions.shape != (n, 2):
                raise DatasetError(f"positions must have shape ({n}, 2), got {self.positions.shape}")
            if not (np.isfinite(self.positions).all() and (self.box > 0).all()):
                raise DatasetError("positions must be finite and box sides positive")

    def __len__(self) -> int:
        return len(self.features)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def labelled(self) -> bool:
        return self.labels is not None

    @property
    def has_positions(self) -> bool:
        return self.positions is not None

    def subset(self, rows: np.ndarray) -> PropensityDataset:
        """The rows ``rows`` (indices or boolean mask), in that order."""
        labels = None if self.labels is None else self.labels[rows]
        positions = None if self.positions is None else self.positions[rows]
        box = None if self.box is None else self.box[rows]
        return PropensityDataset(self.features[rows], self.types[rows], self.configuration[rows],
                                 self.temperature[rows], self.target_cb[rows], labels, positions, box)

    def with_labels(self, labels: np.ndarray | None) -> PropensityDataset:
        """Same rows with other labels (e.g. distilled predictions)."""
        return PropensityDataset(self.features, self.types, self.configuration, self.temperature, self.target_cb,
                                 labels, self.positions, self.box)

    def with_columns(self, columns: np.ndarray) -> PropensityDataset:
        """Same rows with only the descriptor ``columns`` (indices), in that order."""
        return PropensityDataset(self.features[:, columns], self.types, self.configuration, self.temperature,
                                 self.target_cb, self.labels, self.positions, self.box)

    def of_types(self, types: tuple[int, ...] | list[int]) -> PropensityDataset:
        """The rows of particles whose type index is in ``types``."""
        return self.subset(np.isin(self.types, np.asarray(types, dtype=np.int64)))

    def state_points(self) -> np.ndarray:
        """(k, 2) distinct (T, ⟨C_B⟩) pairs, sorted by T then ⟨C_B⟩."""
        if not len(self):
            return np.empty((0, 2))
        return np.unique(np.stack([self.temperature, self.target_cb], axis=1), axis=0)

    def at_state_point(self, temperature: float, cb: float) -> np.ndarray:
        """Boolean row mask of one state point (exact match up to 1e-9)."""
        return np.isclose(self.temperature, temperature, rtol=0, atol=1e-9) & np.isclose(
            self.target_cb, cb, rtol=0, atol=1e-9)


def _column(name: str, values: np.ndarray, n: int, dtype: type) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (n,):
        raise DatasetError(f"{name} must have shape ({n},) like features' rows, got {array.shape}")
    if np.issubdtype(dtype, np.integer) and array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.mod(array, 1) == 0):
            raise DatasetError(f"{name} must hold integers")
    return np.ascontiguousarray(array, dtype=dtype)


def concatenate(datasets: list[PropensityDataset]) -> PropensityDataset:
    """Rows of all ``datasets`` in order; labels kept only if every part is labelled."""
    if not datasets:
        raise DatasetError("concatenate needs at least one dataset")
    labels = positions = box = None
    if all(d.labelled for d in datasets):
        labels = np.concatenate([d.labels for d in datasets])
    if all(d.has_positions for d in datasets):
        positions = np.concatenate([d.positions for d in datasets])
        box = np.concatenate([d.box for d in datasets])
    return PropensityDataset(
        np.concatenate([d.features for d in datasets]), np.concatenate([d.types for d in datasets]),
        np.concatenate([d.configuration for d in datasets]), np.concatenate([d.temperature for d in datasets]),
        np.concatenate([d.target_cb for d in datasets]), labels, positions, box)


def informative_columns(features: np.ndarray, threshold: float = VARIANCE_THRESHOLD) -> np.ndarray:
    """Indices of the (n, M) ``features`` columns whose population variance is ≥ ``threshold`` ([G]'s rule).

    Raises :class:`DatasetError` when no column is left (nothing to learn from).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) == 0:
        raise DatasetError(f"informative_columns needs a non-empty (n, M) array, got shape {features.shape}")
    kept = np.flatnonzero(features.var(axis=0) >= threshold)
    if kept.size == 0:
        raise DatasetError(f"every descriptor has a variance below {threshold} over the training rows")
    return kept


def split_by_configuration(
    dataset: PropensityDataset, fractions: tuple[float, float, float], seed: int
) -> tuple[PropensityDataset, PropensityDataset, PropensityDataset]:
    """(train, validation, test): distinct configuration ids permuted by ``seed`` and cut by ``fractions``.

    Depends on the set of ids and the seed only, not on the row order (:func:`.cnn.deterministic_split`).
    """
    split = deterministic_split(dataset.configuration, fractions, seed)
    return dataset.subset(split.train), dataset.subset(split.validation), dataset.subset(split.test)


def batch_index(dataset: PropensityDataset) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped into batches of one configuration at one state point.

    Returns ``(order, starts)``: ``dataset.subset(order)`` has each batch contiguous, batch b being rows
    ``starts[b]:starts[b+1]`` (``starts`` has n_batches + 1 entries). Deterministic (sorted keys).
    """
    keys = np.stack([dataset.configuration.astype(np.float64), dataset.temperature, dataset.target_cb], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    counts = np.bincount(inverse.ravel())
    return order, np.concatenate([[0], np.cumsum(counts)])


class Standardiser(nn.Module):
    """x' = (x − μ)/σ per column, μ and σ as buffers (saved with the model; default identity)."""

    def __init__(self, n_columns: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_columns))
        self.register_buffer("std", torch.ones(n_columns))

    @classmethod
    def fitted(cls, values: np.ndarray | torch.Tensor) -> Standardiser:
        """Fit on (n, k) values (population std; a constant column gets σ = 1)."""
        values = torch.as_tensor(np.asarray(values), dtype=torch.float64)
        if values.ndim != 2 or len(values) == 0:
            raise DatasetError(f"standardisation needs a non-empty (n, k) array, got shape {tuple(values.shape)}")
        standardiser = cls(values.shape[1])
        std = values.std(dim=0, unbiased=False)
        standardiser.mean.copy_(values.mean(dim=0).float())
        standardiser.std.copy_(torch.where(std < 1e-12, torch.ones_like(std), std).float())
        return standardiser

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return (values - self.mean) / self.std


def state_encoding(temperature: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
    """(..., 6) encoding (T, 1/T, C, ln C, ln(1 − C), ln(−ln C)) of the state point, C clamped (see module doc)."""
    c = cb.clamp(CB_CLAMP, 1.0 - CB_CLAMP)
    log_c = torch.log(c)
    return torch.stack([temperature, 1.0 / temperature, c, log_c, torch.log1p(-c), torch.log(-log_c)], dim=-1)


def state_encoding_numpy(temperature: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """:func:`state_encoding` of numpy arrays (float64), for fitting the state standardiser."""
    return state_encoding(torch.as_tensor(temperature, dtype=torch.float64),
                          torch.as_tensor(cb, dtype=torch.float64)).numpy()


def extrapolation_spans(temperature: float, training_temperatures: np.ndarray | list[float]) -> float:
    """How far 1/T lies outside the training range of 1/T, in units of that range's span:

        d = max(0, 1/T − 1/T_min, 1/T_max − 1/T) / (1/T_min − 1/T_max),

    T_min and T_max the coldest and hottest training temperatures; 0 inside the range. [J] trains at
    T = 0.4 … 0.21 and predicts down to 0.15: d = 0.85. With one training temperature the span is 1/T_train
    (a relative distance). Raises ``ValueError`` for T ≤ 0 or no training temperature.
    """
    temps = np.asarray(training_temperatures, dtype=np.float64)
    if temps.size == 0 or not (temps > 0).all() or not temperature > 0:
        raise ValueError(f"need T > 0 and positive training temperatures, got {temperature} and {temps.tolist()}")
    inverse, low, high = 1.0 / temperature, 1.0 / temps.max(), 1.0 / temps.min()
    span = high - low if high > low else high
    return float(max(0.0, inverse - high, low - inverse) / span)


@dataclass(frozen=True)
class StatePointScore:
    """Pearson correlation [J eq. 8] of prediction and label over the ``n`` rows of one state point."""

    temperature: float
    cb: float
    n: int
    pearson: float


def pearson_per_state_point(dataset: PropensityDataset, prediction: np.ndarray) -> list[StatePointScore]:
    """One :class:`StatePointScore` per state point of a labelled ``dataset`` (NaN if either side is constant)."""
    if dataset.labels is None:
        raise DatasetError("pearson_per_state_point needs a labelled dataset")
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.shape != (len(dataset),):
        raise DatasetError(f"prediction must have shape ({len(dataset)},), got {prediction.shape}")
    scores = []
    for temperature, cb in dataset.state_points():
        rows = dataset.at_state_point(temperature, cb)
        x, y = prediction[rows], dataset.labels[rows].astype(np.float64)
        dx, dy = x - x.mean(), y - y.mean()
        denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
        pearson = float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")
        scores.append(StatePointScore(float(temperature), float(cb), int(rows.sum()), pearson))
    return scores
