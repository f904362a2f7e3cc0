r"""The loss of GlassMLP [G] (stage 2) and tGlassMLP [J]: absolute error, spatial correlation and variance.

One batch $b$ is the particles of one configuration (of the trained particle types) at one state point, labels
$y_i$ and predictions $\hat y_i$. [G] (Supplemental Material and the public KA2D training script of [SDG]) trains in
two stages; [J] App. B ends each training step with "the loss function with the same parameters as for
GlassMLP", i.e. the stage-2 loss below:

$$
L_b = w_P\, L_\text{MAE}
    + w_C \sum_k \frac{\left| C_k(y) - C_k(\hat y) \right|}{\left| C_1(y) - C_K(y) \right|}
    + w_V\, \frac{\left| \operatorname{Var}(\hat y) - \operatorname{Var}(y) \right|}{\operatorname{Var}(y)}.
$$

- $L_\text{MAE} = \frac{1}{n_b} \sum_i |y_i - \hat y_i| / s$, with $s$ the standard deviation of the training labels
  of the state point ([G]: of all training labels at that time; stage 1 uses this term alone).
- The spatial correlation of the field's fluctuations $\delta X_i = X_i - \operatorname{mean}_b(X)$ on Gaussian
  shells of radius $r_k$ and width $w$ ([G]: $r_k = 2, 5, 8\,\sigma$, $w = 1\,\sigma$), with $j = i$ included in the
  row-normalised kernel:

    $$
    K^k_{ij} = \frac{e^{-(r_{ij} - r_k)^2 / 2w^2}}{\sum_l e^{-(r_{il} - r_k)^2 / 2w^2}}, \qquad
    C_k(X) = \frac{\sum_i \delta X_i \sum_j K^k_{ij}\, \delta X_j}{\sum_i \delta X_i^2},
    $$

    $r_{ij}$ the minimum-image distance between the particles of the batch (one configuration, periodic box).
    $C_k$ is invariant under $X \to aX + c$, so [G]'s use of $1 - C_B$ instead of $C_B$ changes nothing. The
    normalisation by $|C_1(y) - C_K(y)|$ (the decay of the label correlation from the first to the last shell)
    is floored at ``CORRELATION_SPAN_FLOOR`` so that a batch whose label correlation is flat cannot blow up.

- Var is the population variance over the batch; $\operatorname{Var}(y)$ is floored at ``STD_FLOOR``².

Weights $(w_P, w_C, w_V) = (1, 0.5, 1)$ as in [G]'s script. Without the correlation and variance terms a
network regresses to the conditional mean: its predicted field is too smooth and too narrow, so χ4 (a
variance of configuration sums) comes out too small. The shell kernels depend on the configuration only
and are built once per configuration (:func:`shell_kernels`, $3 n_b^2$ floats).

References: [G] Supplemental Material; [J] App. B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "CORRELATION_SPAN_FLOOR",
    "DEFAULT_SHELLS",
    "STD_FLOOR",
    "LossWeights",
    "full_glassmlp_loss",
    "mae_loss",
    "shell_correlations",
    "shell_kernels",
]

STD_FLOOR = 1e-3
CORRELATION_SPAN_FLOOR = 0.05
DEFAULT_SHELLS = (2.0, 5.0, 8.0)


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms and the shells of the correlation term ([G]: 1, 0.5, 1; r = 2, 5, 8; w = 1)."""

    absolute_error: float = 1.0
    correlation: float = 0.5
    variance: float = 1.0
    shells: tuple[float, ...] = DEFAULT_SHELLS
    shell_width: float = 1.0

    def __post_init__(self) -> None:
        for name in ("absolute_error", "correlation", "variance"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"loss weight {name} must be finite and ≥ 0, got {value}")
        if len(self.shells) < 2 or not all(r > 0 for r in self.shells) or list(self.shells) != sorted(self.shells):
            raise ValueError(f"shells must be ≥ 2 increasing positive radii, got {list(self.shells)}")
        if not self.shell_width > 0:
            raise ValueError(f"shell_width must be positive, got {self.shell_width}")


def shell_kernels(
    positions: np.ndarray, box: tuple[float, float], shells: tuple[float, ...] = DEFAULT_SHELLS, width: float = 1.0
) -> torch.Tensor:
    """(K, n, n) float32 row-normalised Gaussian shell weights K^k_ij of ``positions`` (n, 2) in a periodic ``box``."""
    positions = np.asarray(positions, np.float64)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must be (n, 2), got {positions.shape}")
    box_arr = np.asarray(box, np.float64)
    delta = positions[:, None, :] - positions[None, :, :]
    delta -= box_arr * np.round(delta / box_arr)
    distance = np.sqrt((delta * delta).sum(-1))
    kernels = np.empty((len(shells), len(positions), len(positions)), np.float32)
    for k, radius in enumerate(shells):
        weights = np.exp(-((distance - radius) ** 2) / (2.0 * width * width))
        kernels[k] = weights / weights.sum(axis=1, keepdims=True)
    return torch.from_numpy(kernels)


def shell_correlations(field: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """(K,) C_k = Σ_i δX_i (K^k δX)_i / Σ_i δX_i² of a field (n,) over its batch mean (module doc)."""
    fluctuation = field - field.mean()
    norm = fluctuation.square().sum().clamp_min(STD_FLOOR**2)
    return (kernels @ fluctuation) @ fluctuation / norm


def mae_loss(prediction: torch.Tensor, labels: torch.Tensor, label_scale: torch.Tensor) -> torch.Tensor:
    """mean|y − ŷ| / s, s the state point's training-label standard deviation (floored) [G stage 1]."""
    return (prediction - labels).abs().mean() / label_scale.clamp_min(STD_FLOOR)


def full_glassmlp_loss(
    prediction: torch.Tensor,
    labels: torch.Tensor,
    label_scale: torch.Tensor,
    kernels: torch.Tensor | None,
    label_correlations: torch.Tensor | None,
    weights: LossWeights,
) -> torch.Tensor:
    """The [G] stage-2 / [J] loss of one batch (module doc); without ``kernels`` the correlation term is left out.

    ``label_correlations`` (K,) are C_k(y) of the batch's labels, precomputed with the same ``kernels``.
    """
    loss = weights.absolute_error * mae_loss(prediction, labels, label_scale)
    label_variance = labels.var(unbiased=False).clamp_min(STD_FLOOR**2)
    loss = loss + weights.variance * (prediction.var(unbiased=False) - label_variance).abs() / label_variance
    if kernels is not None and label_correlations is not None and weights.correlation > 0:
        span = (label_correlations[0] - label_correlations[-1]).abs().clamp_min(CORRELATION_SPAN_FLOOR)
        predicted = shell_correlations(prediction, kernels)
        loss = loss + weights.correlation * (label_correlations - predicted).abs().sum() / span
    return loss
