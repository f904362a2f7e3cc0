"""GlassMLP [G]: a bottleneck MLP from physics-inspired descriptors to the bond-breaking propensity.

One member: x' = (x − μ)/σ (M standardised descriptors) → h = ELU(W_b x' + b_b) ∈ R² (bottleneck)
→ [h, onehot(type)] → Dense(10, ELU) → Dense(10, ELU) → Dense(1, linear). One model per state point
(T, ⟨C_B⟩) ([G]: one per type and time); ensembles of ``n_glassmlp_networks`` seeds (8 in [G]), the
mean over members is the prediction and their standard deviation its spread.

Types: [G] trains one network per particle type and [J] trains and reports type A ("the batch size is
equal to the number of type 1 particles per configuration"). ``particle_types`` chooses the types a
model learns and predicts (the platform's default: type A alone, as [J]); its rows alone enter training,
a batch is one configuration's particles of those types, and the model refuses other types. The type
one-hot is concatenated to the bottleneck output (n_types extra inputs to the first hidden layer, the
same way [J] re-injects the state point after the bottleneck), so a model of several types (the
``all types`` choice, labelled as such) shares its structural bottleneck between them. Parameters:
2M + 2 + (2 + n_types)·10 + 10 + 110 + 11.

Descriptors: the columns whose variance over the training rows is below ``settings.variance_threshold``
are dropped before training ([G]); the model keeps the table's column names (``input_names``) and reads
only the used ones.

Training [G]: stage 1, the absolute-error loss mean|y − ŷ|/s per batch (one configuration), Adam through
``settings.glassmlp_schedule`` ([G]: 5e-4 × 300 epochs, then 2e-4 × 100); stage 2, the full loss of
:mod:`~glass_core.learning.propensity_loss` (absolute error, spatial correlation of the fluctuations on
Gaussian shells, relative variance error) through ``settings.glassmlp_full_loss_schedule`` ([G]: 4e-5 × 50,
then 2e-5 × 100 with early stopping); the best validation epoch of stage 2 restored
(:mod:`~glass_core.learning.mlp_training`). The correlation term needs the particles' positions in the
datasets; without them it is left out.

References: [G]; [J].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from glass_core.learning.device import resolve_device
from glass_core.learning.mlp_data import PropensityDataset, Standardiser, informative_columns
from glass_core.learning.mlp_ensemble import PREDICT_CHUNK, PropensityEnsemble, StackedHeads
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.mlp_training import (
    EpochRecord,
    Phase,
    deterministic_torch,
    label_scales,
    member_seed,
    prepare_batches,
    train_network,
)

__all__ = [
    "GlassMLPEnsemble",
    "GlassMLPNet",
    "default_feature_names",
    "glassmlp_phases",
    "infer_n_types",
    "train_glassmlp",
    "training_columns",
]


class GlassMLPNet(nn.Module):
    """One GlassMLP member on standardised features: ``forward(x (n, M), onehot (n, n_types), state) -> (n,)``."""

    def __init__(self, n_features: int, n_types: int, bottleneck: int = 2, hidden: int = 10) -> None:
        super().__init__()
        self.bottleneck = nn.Linear(n_features, bottleneck)
        self.head = nn.Sequential(nn.Linear(bottleneck + n_types, hidden), nn.ELU(), nn.Linear(hidden, hidden),
                                  nn.ELU(), nn.Linear(hidden, 1))

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """The 2-node bottleneck values, (n, 2)."""
        return functional.elu(self.bottleneck(features))

    def forward(self, features: torch.Tensor, types: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(torch.cat([self.encode(features), types], dim=1)).squeeze(-1)


class GlassMLPEnsemble(PropensityEnsemble):
    """GlassMLP members of one state point; ``forward(features, types, state=None) -> (n_members, n)``.

    ``state`` is accepted (and ignored) so GlassMLP and tGlassMLP share one call signature.
    """

    kind = "glassmlp"

    def architecture(self) -> dict[str, Any]:
        first = self.members[0]
        return {"bottleneck": first.bottleneck.out_features, "hidden": first.head[0].out_features}

    @classmethod
    def build(cls, feature_names: list[str], n_types: int, n_members: int, architecture: dict[str, Any],
              **kwargs: Any) -> GlassMLPEnsemble:
        members = [GlassMLPNet(len(feature_names), n_types, **architecture) for _ in range(n_members)]
        return cls(feature_names, n_types, members, **kwargs)

    def forward(self, features: torch.Tensor, types: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(features, types)
        # standardisation and column selection folded into the bottlenecks: one (n, M_in) × (M_in, 2K) product
        weight = torch.cat([m.bottleneck.weight for m in self.members]) / self.features.std
        bias = torch.cat([m.bottleneck.bias for m in self.members]) - weight @ self.features.mean
        codes = functional.elu(functional.linear(features, self.input_weight(weight), bias))
        heads = StackedHeads.of([m.head for m in self.members], self.members[0].bottleneck.out_features, self.n_types)
        return heads(codes, self.type_one_hot(types)).T

    def predict(self, features: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std over members) per particle, each (n,); batched in chunks of PREDICT_CHUNK particles."""
        x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        t = self.checked_types(types)
        with torch.inference_mode():
            members = torch.cat([self(x[a : a + PREDICT_CHUNK], t[a : a + PREDICT_CHUNK])
                                 for a in range(0, max(len(x), 1), PREDICT_CHUNK)], dim=1)
        return members.mean(0).numpy(), members.std(0, unbiased=False).numpy()


def default_feature_names(n_features: int) -> list[str]:
    return [f"x{k}" for k in range(n_features)]


def infer_n_types(*datasets: PropensityDataset) -> int:
    """1 + the largest type index in the non-empty ``datasets``."""
    return 1 + max(int(d.types.max()) for d in datasets if len(d))


def glassmlp_phases(settings: MLPTrainingSettings) -> list[Phase]:
    """[G]'s two stages: the absolute-error loss, then the full loss."""
    return ([Phase("mae", epochs, rate) for epochs, rate in settings.glassmlp_schedule]
            + [Phase("glassmlp", epochs, rate) for epochs, rate in settings.glassmlp_full_loss_schedule])


def training_columns(train: PropensityDataset, names: Sequence[str], settings: MLPTrainingSettings
                     ) -> tuple[np.ndarray, list[str]]:
    """(indices, names) of the descriptors with variance ≥ ``settings.variance_threshold`` over ``train`` ([G])."""
    if len(names) != train.n_features:
        raise ValueError(f"feature_names has {len(names)} entries for {train.n_features} features")
    index = informative_columns(train.features, settings.variance_threshold)
    return index, [names[i] for i in index]


def _of_types(dataset: PropensityDataset, particle_types: tuple[int, ...] | None, name: str) -> PropensityDataset:
    """The rows of ``particle_types`` (all rows for None); a clear error when the training split has none."""
    if particle_types is None:
        return dataset
    rows = dataset.of_types(particle_types)
    if name == "train" and not len(rows):
        raise ValueError(f"the training rows hold no particle of types {list(particle_types)}")
    return rows


def train_glassmlp(
    train: PropensityDataset,
    validation: PropensityDataset,
    settings: MLPTrainingSettings,
    seed: int | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    feature_names: Sequence[str] | None = None,
    n_types: int | None = None,
    particle_types: tuple[int, ...] | None = None,
    device: str | torch.device = "cpu",
) -> GlassMLPEnsemble:
    """A GlassMLP ensemble of ``settings.n_glassmlp_networks`` members for the one state point of ``train``.

    ``validation`` (may be empty) selects each member's best epoch. ``particle_types`` (None: every type in
    the rows) are the types trained and predicted. Descriptors without variance over ``train`` are dropped
    and standardisation is fitted on ``train`` only. ``seed`` (default ``settings.seed``) derives one seed
    per member; the result is bitwise reproducible on the CPU. ``device`` (:func:`~.device.resolve_device`) is
    where the members train; the ensemble is returned on the CPU. ``ensemble.history`` holds every member's epochs;
    ``ensemble.notes`` the state point and sizes.
    """
    seed = settings.seed if seed is None else int(seed)
    device = resolve_device(device)
    for name, dataset in (("train", train), ("validation", validation)):
        if dataset.labels is None:
            raise ValueError(f"train_glassmlp: the {name} dataset must be labelled")
    n_types = infer_n_types(train, validation) if n_types is None else int(n_types)
    train, validation = _of_types(train, particle_types, "train"), _of_types(validation, particle_types, "validation")
    state_points = train.state_points()
    if len(state_points) != 1:
        raise ValueError(f"train_glassmlp trains one state point [G]; train has {len(state_points)}: "
                         f"{state_points.tolist()}")
    if len(validation) and not validation.at_state_point(*state_points[0]).all():
        raise ValueError("train_glassmlp: validation rows must be at the training state point")
    names = list(feature_names) if feature_names is not None else default_feature_names(train.n_features)
    columns, used = training_columns(train, names, settings)
    train, validation = train.with_columns(columns), validation.with_columns(columns)

    standardiser = Standardiser.fitted(train.features)
    weights, scales = settings.loss(), label_scales(train)
    train_batches = prepare_batches(train, standardiser, None, n_types, scales, weights)
    validation_batches = prepare_batches(validation, standardiser, None, n_types, scales, weights)
    phases = glassmlp_phases(settings)
    members, history = [], []
    for member in range(settings.n_glassmlp_networks):
        with deterministic_torch(member_seed(seed, "glassmlp", member), settings.threads, device):
            net = GlassMLPNet(train.n_features, n_types)
            history += train_network(net, train_batches, validation_batches, phases, settings.patience, "glassmlp",
                                     member, on_epoch, weights, device)
        members.append(net)
    types = tuple(sorted(int(t) for t in np.unique(train.types))) if particle_types is None else particle_types
    ensemble = GlassMLPEnsemble(used, n_types, members, input_names=names, particle_types=types, notes={
        "state_point": [float(v) for v in state_points[0]], "seed": seed,
        "n_train_rows": len(train), "n_validation_rows": len(validation),
        "dropped_descriptors": [n for n in names if n not in set(used)],
        "spatial_loss": bool(train.has_positions)})
    ensemble.features.load_state_dict(standardiser.state_dict())
    ensemble.history = history
    return ensemble.eval()
