r"""Grad-CAM class-activation maps of :class:`~glass_core.learning.cnn.GlassCNN` and per-particle scores Γ_i.

Grad-CAM [GC20], as [O] eq. 3–4 uses it, on the activations $A^m$ (after ReLU) of the last convolutional
layer, $m = 1 \dots C_3$, each a $G \times G$ map:

$$
\alpha_m^C = \frac{1}{Z} \sum_{k,l} \frac{\partial y^C}{\partial A^m_{kl}}, \quad Z = G^2, \qquad
\tilde L^C = \operatorname{ReLU}\Big( \sum_m \alpha_m^C A^m \Big),
$$

with $y^C$ the pre-softmax score (logit) of class $C$ (default :data:`~glass_core.learning.cnn.GLASS`). The
network has no pooling and "same" convolutions, so $\tilde L^C$ has the input resolution $G \times G$ and needs no
upsampling. The per-particle Grad-CAM score is

$$
\Gamma_i = M^{-1}\big(\tilde L^C\big)(\mathbf r_i),
$$

bilinear interpolation of the map at the particle (:mod:`glass_core.structure.gridding`). [O] then coarse-grains
$\Gamma$ ($\xi = 3$) and min–max normalises it (:mod:`glass_core.structure.coarse_graining`), on correctly
classified glass samples; that is left to the caller (``logits`` are returned to select them). The model is
evaluated in eval mode (no dropout); the gradient is taken with respect to $A$ only, so no backward pass through
the conv layers is needed.

Translation by whole grid cells (periodic roll of the input by (dx, dy) pixels):

- **Exact for any head**: circular padding makes the conv stack equivariant,
  $A^m(\operatorname{roll} x) = \operatorname{roll} A^m(x)$ (up to float rounding), because the convolutions
  commute with periodic shifts.
- **Exact for the global-average head** (``head="gap"``): the pooled features, hence $y^C$ and
  $\partial y^C / \partial A^m_{kl} = \frac{1}{Z}\, \partial y^C / \partial \bar A^m$ ($\bar A^m$ the pooled map),
  are unchanged, so $\alpha$ is unchanged and $\tilde L^C(\operatorname{roll} x) = \operatorname{roll}
  \tilde L^C(x)$; per particle, translating a configuration by whole pixels leaves $\Gamma_i$ unchanged.
- **Not exact for [O]'s fully connected head** (``head="fc"``): the dense layer weights each pixel of
  $A$ differently, so $y^C$ and $\alpha$ change under a roll; $\tilde L^C$ is then only approximately
  equivariant, to the extent that the trained network has learned translation-invariant class evidence.

References: [O]; [GC20].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from glass_core.learning.cnn import GLASS, GlassCNN
from glass_core.learning.correlations import GRAD_CAM_PAIRS, pair_correlations
from glass_core.learning.device import resolve_device
from glass_core.models.configuration import Configuration
from glass_core.structure.gridding import Gridding
from glass_core.structure.indicators import COARSE_GRAINING_LENGTH, StructuralIndicators, normalised_coarse_grained

__all__ = ["GradCAM", "ParticleGradCAM", "cnn_glass_correlations", "grad_cam", "grad_cam_particles"]


@dataclass(frozen=True)
class GradCAM:
    """Grad-CAM maps of a batch of images.

    Attributes:
        maps: (S, G, G) L̃^C ≥ 0 at input resolution.
        weights: (S, C₃) α_m^C.
        logits: (S, 2) pre-softmax scores y of the images.
    """

    maps: np.ndarray
    weights: np.ndarray
    logits: np.ndarray

    @property
    def predictions(self) -> np.ndarray:
        """(S,) predicted class of each image."""
        return self.logits.argmax(axis=1)


@dataclass(frozen=True)
class ParticleGradCAM:
    """Per-particle Grad-CAM scores Γ_i of configurations, with the maps they came from.

    Attributes:
        scores: one (N_s,) array Γ per configuration (raw: not coarse-grained nor normalised).
        cam: the :class:`GradCAM` of the configurations' images.
    """

    scores: list[np.ndarray]
    cam: GradCAM


def _grad_cam_batch(model: GlassCNN, x: torch.Tensor, target_class: int) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        activations = model.features(x)
    activations.requires_grad_(True)
    with torch.enable_grad():
        logits = model.head(activations)
        # samples are independent in eval mode, so the gradient of the sum is the per-sample gradient
        (gradient,) = torch.autograd.grad(logits[:, target_class].sum(), activations)
    alpha = gradient.mean(dim=(2, 3))
    maps = torch.relu(torch.einsum("bm,bmkl->bkl", alpha, activations.detach()))
    return maps, alpha, logits.detach()


def grad_cam(
    model: GlassCNN,
    images: np.ndarray | torch.Tensor,
    target_class: int = GLASS,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> GradCAM:
    r"""Grad-CAM maps $\tilde L^C$ of ``images`` (S, n_channels, G, G) for class ``target_class`` ([O] eq. 3–4).

    The model is switched to eval mode for the computation and its previous mode restored; the maps are computed on
    ``device`` (:func:`~.device.resolve_device`) and the model is returned to the device it came on.
    """
    x = torch.as_tensor(images, dtype=torch.float32)
    device = resolve_device(device)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"images must be a non-empty (S, C, G, G) batch, got shape {tuple(x.shape)}")
    was_training, home = model.training, next(model.parameters(), torch.empty(0)).device
    model.eval().to(device)
    try:
        parts = [tuple(t.cpu() for t in _grad_cam_batch(model, chunk.to(device), target_class))
                 for chunk in x.split(batch_size)]
    finally:
        model.train(was_training).to(home)
    maps, alpha, logits = (torch.cat(p).numpy() for p in zip(*parts, strict=True))
    return GradCAM(maps, alpha, logits)


def grad_cam_particles(
    model: GlassCNN,
    configs: Sequence[Configuration],
    gridding: Gridding,
    target_class: int = GLASS,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> ParticleGradCAM:
    r"""$\Gamma_i = M^{-1}(\tilde L^C)(\mathbf r_i)$ for every particle of every configuration.

    ``gridding`` must be the M the model was trained with (same channels, grid, kernel, width).
    """
    cam = grad_cam(model, gridding.images(configs), target_class, batch_size, device)
    scores = [gridding.at_particles(cam.maps[s], config) for s, config in enumerate(configs)]
    return ParticleGradCAM(scores, cam)


def cnn_glass_correlations(
    model: GlassCNN,
    gridding: Gridding,
    configs: Mapping[int, Configuration],
    indicators: Mapping[int, StructuralIndicators],
    xi: float = COARSE_GRAINING_LENGTH,
) -> dict[int, dict[tuple[str, str], float] | None]:
    """sample → {(pair, method): C} of C(Γ̄,Ῡ) and C(Γ̄,1−Θ̄) for each glass, ``None`` for one ``model`` does not
    classify as glass ([O] correlates correctly classified glasses only). Γ is the glass-class Grad-CAM on the images
    of ``gridding`` (the training pixel size at these boxes, :meth:`Gridding.at_box`), coarse-grained at ``xi`` and
    normalised; ``indicators`` holds each glass's Θ̄, Ῡ."""
    samples = list(configs)
    scores = grad_cam_particles(model, [configs[s] for s in samples], gridding, target_class=GLASS)
    out: dict[int, dict[tuple[str, str], float] | None] = {}
    for k, sample in enumerate(samples):
        if scores.cam.predictions[k] != GLASS:
            out[sample] = None
            continue
        fields = indicators[sample]
        gamma_cg = normalised_coarse_grained(configs[sample], scores.scores[k], xi)
        out[sample] = pair_correlations(
            {
                "gamma_cg": gamma_cg,
                "voronoi_area_cg": fields.voronoi_area_cg,
                "one_minus_theta_cg": fields.one_minus_theta_cg,
            },
            GRAD_CAM_PAIRS,
        )
    return out
