"""An ensemble of propensity networks as one ``nn.Module``, with a JSON config to rebuild it.

The module holds the descriptor standardisation (:class:`~glass_core.learning.mlp_data.Standardiser`
buffers μ, σ fitted on the training rows), for tGlassMLP also the state-encoding standardisation, and
the kept members in an ``nn.ModuleList``. ``forward(features (n, M_in), types (n,) int, state (n, 2) =
(T, ⟨C_B⟩))`` returns the members' predictions, shape (n_members, n): plain tensors in and out, so an
MLflow signature / ``input_example`` and ``torch.export`` work. The spread between members is the
error bar [J].

Inputs and features. The model reads the descriptor table's columns ``input_names`` (M_in, the table's
order) and uses the subset ``feature_names`` (M): the descriptors without variance over the training rows
are dropped before training ([G]), and never reach a weight, the attention or P(L). Particle types: the
model predicts the types ``particle_types`` it was trained on ([J]: type A, index 0); other types are
refused with an error.

:meth:`PropensityEnsemble.config` is JSON-serialisable (kind, input and feature names, n_types, particle
types, architecture, kept member indices, training notes); :func:`save_ensemble` writes it with the
``state_dict``; :func:`load_ensemble` rebuilds the module from the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from glass_core.learning.mlp_data import Standardiser
from glass_core.learning.mlp_training import EpochRecord, one_hot

__all__ = ["CONFIG_FILE", "PREDICT_CHUNK", "WEIGHTS_FILE", "PropensityEnsemble", "StackedHeads"]

PREDICT_CHUNK = 65536  # particles per pass in predict: bounds the (chunk, 10 K) intermediates


@dataclass(frozen=True)
class StackedHeads:
    """The K members' heads (Linear(c + e + n_types, h), ELU, Linear(h, h), ELU, Linear(h, 1)) as three wide layers.

    Member k's first-layer input is [code_k (c), embedding_k (e), onehot (n_types)]; the embedding is
    constant over particles and enters through ``member_bias`` (K, h) = W_e,k · embedding_k. The
    stacked layers are block-diagonal over members (the type columns shared), so all members run in
    three matrix products on (n, K c + n_types) → (n, K h) → (n, K h) → (n, K) instead of 3 K skinny ones.
    """

    first: torch.Tensor
    first_bias: torch.Tensor
    second: torch.Tensor
    second_bias: torch.Tensor
    out: torch.Tensor
    out_bias: torch.Tensor

    @classmethod
    def of(cls, heads: list[nn.Sequential], code_width: int, n_types: int,
           member_bias: torch.Tensor | None = None) -> StackedHeads:
        first_weights = [head[0].weight for head in heads]  # (h, c + e + n_types)
        codes = torch.block_diag(*[w[:, :code_width].T for w in first_weights])
        types = torch.cat([w[:, w.shape[1] - n_types :].T for w in first_weights], dim=1)
        first_bias = torch.stack([head[0].bias for head in heads])
        if member_bias is not None:
            first_bias = first_bias + member_bias
        return cls(torch.cat([codes, types]), first_bias.reshape(-1),
                   torch.block_diag(*[head[2].weight.T for head in heads]), torch.cat([head[2].bias for head in heads]),
                   torch.block_diag(*[head[4].weight.T for head in heads]), torch.cat([head[4].bias for head in heads]))

    def __call__(self, codes: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """(n, K) outputs from the members' codes (n, K c) and the type one-hot (n, n_types)."""
        hidden = functional.elu(torch.addmm(self.first_bias, torch.cat([codes, onehot], dim=1), self.first))
        hidden = functional.elu(torch.addmm(self.second_bias, hidden, self.second))
        return torch.addmm(self.out_bias, hidden, self.out)

CONFIG_FILE = "ensemble.json"
WEIGHTS_FILE = "ensemble.pt"


class PropensityEnsemble(nn.Module):
    """Base of :class:`GlassMLPEnsemble` and :class:`TGlassMLPEnsemble` (standardiser + members + config).

    Attributes beyond the module: ``history`` (list of :class:`EpochRecord`, not saved) and the
    JSON-able ``kept_members`` (indices of the kept networks among the ``n_trained`` trained ones) and
    ``notes`` (training facts such as the self-consistency warning).
    """

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[PropensityEnsemble]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            PropensityEnsemble.registry[cls.kind] = cls

    def __init__(self, feature_names: list[str], n_types: int, members: list[nn.Module],
                 kept_members: list[int] | None = None, n_trained: int | None = None,
                 notes: dict[str, Any] | None = None, input_names: list[str] | None = None,
                 particle_types: tuple[int, ...] | list[int] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if n_types < 1:
            raise ValueError(f"n_types must be ≥ 1, got {n_types}")
        self.feature_names = list(feature_names)
        self.input_names = list(feature_names) if input_names is None else list(input_names)
        missing = sorted(set(self.feature_names) - set(self.input_names))
        if missing:
            raise ValueError(f"feature names {missing} are not among the input names")
        position = {name: i for i, name in enumerate(self.input_names)}
        self.register_buffer("input_index", torch.tensor([position[n] for n in self.feature_names],
                                                         dtype=torch.int64), persistent=False)
        self.n_types = int(n_types)
        types = tuple(range(self.n_types)) if particle_types is None else tuple(sorted(int(t) for t in particle_types))
        if not types or min(types) < 0 or max(types) >= self.n_types or len(set(types)) != len(types):
            raise ValueError(f"particle_types must be distinct type indices in 0..{self.n_types - 1}, got {types}")
        self.particle_types = types
        self.features = Standardiser(len(self.feature_names))
        self.members = nn.ModuleList(members)
        self.kept_members = list(range(len(members))) if kept_members is None else [int(k) for k in kept_members]
        self.n_trained = len(members) if n_trained is None else int(n_trained)
        self.notes: dict[str, Any] = dict(notes or {})
        self.history: list[EpochRecord] = []

    @property
    def n_features(self) -> int:
        """M: the descriptors the networks use."""
        return len(self.feature_names)

    @property
    def n_inputs(self) -> int:
        """M_in: the descriptor columns the model reads (the table's)."""
        return len(self.input_names)

    @property
    def selects_inputs(self) -> bool:
        return self.n_features != self.n_inputs

    def used_features(self, features: torch.Tensor) -> torch.Tensor:
        """(n, M) the used columns of (n, M_in) input descriptors."""
        return features.index_select(1, self.input_index) if self.selects_inputs else features

    def input_weight(self, weight: torch.Tensor) -> torch.Tensor:
        """A (r, M) weight on the used features as the equal (r, M_in) weight on the inputs (zeros elsewhere)."""
        if not self.selects_inputs:
            return weight
        full = weight.new_zeros(weight.shape[0], self.n_inputs)
        return full.index_copy_(1, self.input_index, weight)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def type_one_hot(self, types: torch.Tensor) -> torch.Tensor:
        return one_hot(types, self.n_types)

    def architecture(self) -> dict[str, Any]:
        """Sizes needed to rebuild a member (subclasses)."""
        raise NotImplementedError

    @classmethod
    def build(cls, feature_names: list[str], n_types: int, n_members: int, architecture: dict[str, Any],
              **kwargs: Any) -> PropensityEnsemble:
        """An untrained ensemble of ``n_members`` (subclasses)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description from which :func:`load_ensemble` rebuilds this module."""
        return {
            "kind": self.kind,
            "feature_names": self.feature_names,
            "input_names": self.input_names,
            "n_types": self.n_types,
            "particle_types": list(self.particle_types),
            "n_members": self.n_members,
            "architecture": self.architecture(),
            "kept_members": self.kept_members,
            "n_trained": self.n_trained,
            "notes": self.notes,
        }

    def checked_types(self, types: np.ndarray) -> torch.Tensor:
        """int64 tensor of ``types``, each one of ``particle_types`` (checked here, not in ``forward``, to keep it
        exportable)."""
        types = np.asarray(types)
        if types.size and (types.min() < 0 or types.max() >= self.n_types):
            raise ValueError(f"types must lie in 0..{self.n_types - 1}, got {types.min()}..{types.max()}")
        other = sorted(set(np.unique(types).tolist()) - set(self.particle_types))
        if other:
            raise ValueError(f"this model was trained on particle types {list(self.particle_types)} only and does "
                             f"not predict types {other}: select the rows of its types")
        return torch.as_tensor(types, dtype=torch.int64)

    def _check_inputs(self, features: torch.Tensor, types: torch.Tensor) -> None:
        if features.ndim != 2 or features.shape[1] != self.n_inputs:
            raise ValueError(f"features must be (n, {self.n_inputs}) (columns {self.input_names[:3]}…), "
                             f"got {tuple(features.shape)}")
        if types.shape != (features.shape[0],):
            raise ValueError(f"types must be ({features.shape[0]},), got {tuple(types.shape)}")
