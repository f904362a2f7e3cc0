"""An ensemble of propensity networks as one ``nn.Module``, with a JSON config to rebuild it.

The module holds the descriptor standardisation (:class:`~glass_core.learning.mlp_data.Standardiser`
buffers μ, σ fitted on the training rows), for tGlassMLP also the state-encoding standardisation, and
the kept members in an ``nn.ModuleList``. ``forward(features (n, M), types (n,) int, state (n, 2) =
(T, ⟨C_B⟩))`` returns the members' predictions, shape (n_members, n): plain tensors in and out, so an
MLflow signature / ``input_example`` and ``torch.export`` work. The spread between members is the
error bar [J].

:meth:`PropensityEnsemble.config` is JSON-serialisable (kind, feature names, n_types, architecture,
kept member indices, training notes); :func:`save_ensemble` writes it with the ``state_dict``;
:func:`load_ensemble` rebuilds the module from the two.
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
                 notes: dict[str, Any] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if n_types < 1:
            raise ValueError(f"n_types must be ≥ 1, got {n_types}")
        self.feature_names = list(feature_names)
        self.n_types = int(n_types)
        self.features = Standardiser(len(self.feature_names))
        self.members = nn.ModuleList(members)
        self.kept_members = list(range(len(members))) if kept_members is None else [int(k) for k in kept_members]
        self.n_trained = len(members) if n_trained is None else int(n_trained)
        self.notes: dict[str, Any] = dict(notes or {})
        self.history: list[EpochRecord] = []

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

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
            "n_types": self.n_types,
            "n_members": self.n_members,
            "architecture": self.architecture(),
            "kept_members": self.kept_members,
            "n_trained": self.n_trained,
            "notes": self.notes,
        }

    def checked_types(self, types: np.ndarray) -> torch.Tensor:
        """int64 tensor of ``types``, each in 0..n_types−1 (checked here, not in ``forward``, to keep it exportable)."""
        types = np.asarray(types)
        if types.size and (types.min() < 0 or types.max() >= self.n_types):
            raise ValueError(f"types must lie in 0..{self.n_types - 1}, got {types.min()}..{types.max()}")
        return torch.as_tensor(types, dtype=torch.int64)

    def _check_inputs(self, features: torch.Tensor, types: torch.Tensor) -> None:
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"features must be (n, {self.n_features}), got {tuple(features.shape)}")
        if types.shape != (features.shape[0],):
            raise ValueError(f"types must be ({features.shape[0]},), got {tuple(types.shape)}")
