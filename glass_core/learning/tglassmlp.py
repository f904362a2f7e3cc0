"""tGlassMLP [J]: transferable GlassMLP with the state point (T, ⟨C_B⟩) as input and an attention layer.

One member, on standardised descriptors x ∈ R^M and the standardised state encoding s ∈ R⁶
(:func:`~glass_core.learning.mlp_data.state_encoding`: T, 1/T, C, ln C, ln(1 − C), ln(−ln C)):

- attention [J eqs. 5–7]: m = MLP1(s) ∈ R² (6 → 6 ELU → 6 ELU → 2 linear); each descriptor k has a
  learnable key a_k ∈ R²; w_k = exp(a_k·m) / Σ_j exp(a_j·m) (w_k > 0, Σ_k w_k = 1); the layer
  outputs M·w_k·x_k (M values). The constant factor M (ours) makes the layer the identity on average
  at initialisation; it is absorbed by the next dense layer and leaves the weights w_k unchanged.
- bottleneck: h = ELU(Dense(M → 2)); MLP2(s) ∈ R⁴ (6 → 7 ELU → 7 ELU → 4 linear) re-injects the
  state point; [h, MLP2(s), onehot(type)] → Dense(10, ELU) → Dense(10, ELU) → Dense(1, linear).
  Parameters: 4M + 428 + 10·n_types ([J]: ≈ 4M + 430, "slightly above 1000" for M ≈ 144). Types and
  descriptor columns as in :mod:`~glass_core.learning.glassmlp` (``particle_types``, default type A as in
  [J]; one-hot after the bottleneck; zero-variance descriptors dropped, M counts the used ones).

Prediction [J App. B]: the state-point input is iterated so that each member's particle-averaged
prediction ⟨ŷ⟩ matches the requested ⟨C_B⟩: c⁽⁰⁾ = ⟨C_B⟩_req; c⁽¹⁾ = c⁽⁰⁾ + (⟨C_B⟩_req − ⟨ŷ⟩⁽⁰⁾);
afterwards a secant step c⁽ⁱ⁺¹⁾ = c⁽ⁱ⁾ + (⟨C_B⟩_req − ⟨ŷ⟩⁽ⁱ⁾)/σ⁽ⁱ⁾, σ the slope d⟨ŷ⟩/dc between the
last two iterates, clipped to [0.2, 5] (1 when undefined); c stays in [1e-4, 1 − 1e-4]; at most
``max_iterations`` updates, stopping when every member is within ``tolerance``. (The paper's
recursion is not legible in our copy; this one reduces to its plain fixed point when σ = 1.)

Inference is batched over all particles: for one state point per member the attention weights and
the standardisation fold into the first dense layer, W' = W·diag(M w/σ), b' = b − W'μ, and all
members' bottlenecks are one (n, M) × (M, 2K) product.

References: [J].
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from glass_core.learning.mlp_data import CB_CLAMP, N_STATE_INPUTS, Standardiser, state_encoding
from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.tglassmlp_inference import FoldedTGlassMLP, StackedTGlassMembers

__all__ = ["DEFAULT_ARCHITECTURE", "TGlassMLPEnsemble", "TGlassMLPNet", "TGlassPrediction", "attention_entropy"]

DEFAULT_ARCHITECTURE = {"attention_hidden": 6, "attention_dim": 2, "embed_hidden": 7, "embed_dim": 4,
                        "bottleneck": 2, "hidden": 10}


def attention_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy of each row of attention weights, S = −Σ_k w_k ln w_k (ln K for uniform weights over K lengths); a
    sharp softmax, e.g. on extrapolation, shows as a falling entropy [J]."""
    return -(weights * np.log(np.clip(weights, 1e-300, None))).sum(axis=1)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """n_in → hidden ELU → hidden ELU → n_out linear."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(),
                         nn.Linear(hidden, n_out))


class TGlassMLPNet(nn.Module):
    """One tGlassMLP member: ``forward(x (n, M), onehot (n, n_types), state (n or 1, 6)) -> (n,)``, all standardised."""

    def __init__(self, n_features: int, n_types: int, attention_hidden: int = 6, attention_dim: int = 2,
                 embed_hidden: int = 7, embed_dim: int = 4, bottleneck: int = 2, hidden: int = 10) -> None:
        super().__init__()
        self.n_features = n_features
        self.mlp1 = _mlp(N_STATE_INPUTS, attention_hidden, attention_dim)
        self.keys = nn.Parameter(0.1 * torch.randn(n_features, attention_dim))  # a_k
        self.bottleneck = nn.Linear(n_features, bottleneck)
        self.mlp2 = _mlp(N_STATE_INPUTS, embed_hidden, embed_dim)
        self.head = nn.Sequential(nn.Linear(bottleneck + embed_dim + n_types, hidden), nn.ELU(),
                                  nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 1))

    def attention_weights(self, state: torch.Tensor) -> torch.Tensor:
        """w (b, M) = softmax_k(a_k · MLP1(s)) for standardised state encodings s (b, 6)."""
        return torch.softmax(self.mlp1(state) @ self.keys.T, dim=-1)

    def encode(self, features: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Bottleneck values (n, 2)."""
        weighted = features * self.attention_weights(state)  # x_k w_k; the factor M goes on the weights
        return functional.elu(functional.linear(weighted, self.bottleneck.weight * self.n_features,
                                                self.bottleneck.bias))

    def forward(self, features: torch.Tensor, types: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        embedded = self.mlp2(state).expand(features.shape[0], -1)
        return self.head(torch.cat([self.encode(features, state), embedded, types], dim=1)).squeeze(-1)


@dataclass(frozen=True)
class TGlassPrediction:
    """Iterated tGlassMLP prediction at one state point (n particles, K kept members).

    mean, std: (n,) mean and population standard deviation over members; members: (K, n);
    achieved_cb: particle average of ``mean``; member_cb: (K,) each member's particle average;
    state_input: (K, 2) the (T, c) input finally used per member; iterations: input updates made;
    converged: every member within the tolerance.
    """

    mean: np.ndarray
    std: np.ndarray
    members: np.ndarray
    achieved_cb: float
    member_cb: np.ndarray
    state_input: np.ndarray
    iterations: int
    converged: bool


class TGlassMLPEnsemble(PropensityEnsemble):
    """tGlassMLP members; ``forward(features (n, M), types (n,), state (n, 2) = (T, ⟨C_B⟩)) -> (K, n)``."""

    kind = "tglassmlp"

    def __init__(self, feature_names: list[str], n_types: int, members: list[nn.Module], **kwargs: Any) -> None:
        super().__init__(feature_names, n_types, members, **kwargs)
        self.state = Standardiser(N_STATE_INPUTS)

    def architecture(self) -> dict[str, Any]:
        first = self.members[0]
        return {"attention_hidden": first.mlp1[0].out_features, "attention_dim": first.keys.shape[1],
                "embed_hidden": first.mlp2[0].out_features, "embed_dim": first.mlp2[-1].out_features,
                "bottleneck": first.bottleneck.out_features, "hidden": first.head[0].out_features}

    @classmethod
    def build(cls, feature_names: list[str], n_types: int, n_members: int, architecture: dict[str, Any] | None = None,
              **kwargs: Any) -> TGlassMLPEnsemble:
        sizes = {**DEFAULT_ARCHITECTURE, **(architecture or {})}
        members = [TGlassMLPNet(len(feature_names), n_types, **sizes) for _ in range(n_members)]
        return cls(feature_names, n_types, members, **kwargs)

    def encoded_state(self, state: torch.Tensor) -> torch.Tensor:
        """Standardised 6-input encoding of raw (T, ⟨C_B⟩) rows, (b, 6)."""
        return self.state(state_encoding(state[:, 0], state[:, 1]))

    def forward(self, features: torch.Tensor, types: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """General path: any state point per particle."""
        self._check_inputs(features, types)
        x = self.features(self.used_features(features))
        onehot, s = self.type_one_hot(types), self.encoded_state(state.to(torch.float32))
        return torch.stack([member(x, onehot, s) for member in self.members])

    def forward_at_state_points(self, features: torch.Tensor, types: torch.Tensor,
                                member_state: torch.Tensor) -> torch.Tensor:
        """Fast path: member k sees state ``member_state[k]`` (K, 2) for all particles; returns (K, n).

        Inference only (no autograd): the folded network of :mod:`~glass_core.learning.tglassmlp_inference`.
        """
        self._check_inputs(features, types)
        stacked = StackedTGlassMembers.of(self.members)
        return self._folded_at(stacked, member_state)(features.to(torch.float32), types.to(torch.int64))

    def _folded_at(self, stacked: StackedTGlassMembers, member_state: torch.Tensor) -> FoldedTGlassMLP:
        """``stacked`` folded at the raw (T, ⟨C_B⟩) rows ``member_state`` (one per stacked member)."""
        if member_state.shape != (stacked.n_members, 2):
            raise ValueError(f"member_state must be ({stacked.n_members}, 2), got {tuple(member_state.shape)}")
        with torch.inference_mode():
            encoded = self.encoded_state(member_state.to(torch.float32))
            folded = stacked.folded(encoded, self.features.mean, self.features.std)
            # the dropped input columns get zero weight: the model reads the table's columns as they are
            return replace(folded, code_weight=self.input_weight(folded.code_weight).contiguous())

    def attention_weights(self, temperature: float, cb: float | np.ndarray) -> np.ndarray:
        """(K, M) attention weights w_k of every member at (T, ⟨C_B⟩); rows sum to 1. ``cb`` is one value or one
        per member (K,), e.g. each member's own iterated state input of :meth:`predict` [J]."""
        cb_values = np.broadcast_to(np.asarray(cb, dtype=np.float64), (self.n_members,))
        with torch.inference_mode():
            state = torch.tensor([[temperature, c] for c in cb_values], dtype=torch.float32)
            s = self.encoded_state(state)
            return torch.cat([member.attention_weights(s[k : k + 1]) for k, member in enumerate(self.members)]).numpy()

    def predict(self, features: np.ndarray, types: np.ndarray, temperature: float, requested_cb: float,
                max_iterations: int = 6, tolerance: float = 0.03) -> TGlassPrediction:
        """Per-particle propensity at (T, ⟨C_B⟩_req), the state input iterated per member (module doc).

        Each pass runs the folded network (:mod:`~glass_core.learning.tglassmlp_inference`) for the
        members whose state input moved; the others' outputs are unchanged and kept.
        """
        if not 0 < requested_cb <= 1:
            raise ValueError(f"requested_cb must lie in (0, 1], got {requested_cb}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if len(features) == 0:
            raise ValueError("predict needs at least one particle")
        x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        t = self.checked_types(types)
        self._check_inputs(x, t)
        stacked = StackedTGlassMembers.of(self.members)
        c = torch.full((self.n_members,), float(requested_cb), dtype=torch.float64)
        moved = torch.ones_like(c, dtype=torch.bool)
        members: torch.Tensor | None = None
        member_mean = torch.zeros_like(c)
        previous_c = previous_mean = None
        iterations = 0
        with torch.inference_mode():
            while True:
                state = torch.stack([torch.full_like(c, float(temperature)), c], dim=1)
                members, member_mean = self._update_members(stacked, state, moved, x, t, members, member_mean)
                miss = requested_cb - member_mean
                open_members = miss.abs() > tolerance
                if not bool(open_members.any()) or iterations >= max_iterations:
                    break
                slope = torch.ones_like(c)
                if previous_c is not None:
                    dc = c - previous_c
                    secant = (member_mean - previous_mean) / torch.where(dc.abs() > 1e-9, dc, torch.ones_like(dc))
                    slope = torch.where((dc.abs() > 1e-9) & torch.isfinite(secant), secant.clamp(0.2, 5.0), slope)
                previous_c, previous_mean = c, member_mean
                c = torch.where(open_members, (c + miss / slope).clamp(CB_CLAMP, 1 - CB_CLAMP), c)
                moved = open_members
                iterations += 1
            mean = members.mean(0)
            std = (members - mean).square_().mean(0).sqrt_()  # population std; Tensor.std(0) is ~25x slower here
        return TGlassPrediction(
            mean=mean.numpy(), std=std.numpy(), members=members.numpy(),
            achieved_cb=float(mean.sum(dtype=torch.float64)) / mean.shape[0], member_cb=member_mean.numpy(),
            state_input=state.numpy(), iterations=iterations, converged=not bool(open_members.any()))

    def _update_members(self, stacked: StackedTGlassMembers, state: torch.Tensor, moved: torch.Tensor,
                        features: torch.Tensor, types: torch.Tensor, members: torch.Tensor | None,
                        member_mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Re-evaluate the ``moved`` members at their rows of ``state`` (K, 2); (members (K, n), their means (K,))."""
        if members is None or bool(moved.all()):
            members = self._folded_at(stacked, state)(features, types)
            return members, members.sum(dim=1, dtype=torch.float64) / members.shape[1]
        index = moved.nonzero().squeeze(1)
        outputs = self._folded_at(stacked.select(index), state[index])(features, types)
        member_mean = member_mean.clone()
        member_mean[index] = outputs.sum(dim=1, dtype=torch.float64) / outputs.shape[1]
        return members.index_copy_(0, index, outputs), member_mean


def predict_at_targets(ensemble: TGlassMLPEnsemble, features: np.ndarray, types: np.ndarray, temperature: float,
                       targets: list[float], max_iterations: int = 6,
                       tolerance: float = 0.03) -> list[TGlassPrediction]:
    """[J]'s iterated prediction (:meth:`TGlassMLPEnsemble.predict`) of the same particles at each requested
    ⟨C_B⟩ of ``targets``, in order: the large-box inference that runs as a worker task
    (:mod:`glass_core.learning.training_task`, kind ``tglassmlp_predict``)."""
    if not features.flags.writeable:  # unpickled from a task's inputs: torch wants to own writable memory
        features = features.copy()
    return [ensemble.predict(features, types, temperature, float(target), max_iterations, tolerance)
            for target in targets]
