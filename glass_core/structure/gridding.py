"""The mapping operator M (particles → periodic density image) and its inverse M⁻¹ [O, §III A–B].

[O] feeds the CNN the gridded density ρ̃ = M(ρ) of ρ(r) = Σ_i δ(r − r_i), and reads per-particle
Grad-CAM scores back with Γ = M⁻¹(L̃). The paper's supplement fixes neither kernel nor resolution;
the choices here are:

- **Grid**: G × G pixels over the periodic box (pixels are Lx/G × Ly/G); pixel (k, l) has its centre
  at ((k + ½) Lx/G, (l + ½) Ly/G). Array axes are ``[..., k, l]`` = ``[..., x, y]`` (``indexing="ij"``;
  plot with ``imshow(image.T, origin="lower")``). Default G = :data:`DEFAULT_GRID` = 128, i.e. pixels
  of ≈ 0.32 σ for N = 2000 at the papers' densities (box ≈ 41–43).
- **Input kind** (:data:`INPUT_KINDS`): ``"density"`` is [O]'s species-blind ρ(r) = Σ_i δ(r − r_i) gridded
  into one channel (every particle deposits into it, whatever its type: the image is the sum of the
  per-type channels); ``"per_type"`` gives one channel per particle type, ρ_t(r) = Σ_{i: t_i = t} δ(r − r_i)
  (species-aware, not in [O]'s text).
- **M, Gaussian kernel** (default): channel t of the image is the density of the particles of type t,

      ρ̃_t(k, l) = Σ_{i: t_i = t} w_i g_x(x_k − x_i) g_y(y_l − y_i) / (Δx Δy),

  g a periodic Gaussian of standard deviation ``width`` (default :data:`DEFAULT_WIDTH` = 0.3 σ_AA,
  about one pixel at the default grid) evaluated at the pixel centres within 4 ``width`` (+1 pixel)
  and renormalised to sum 1 along each axis, so each particle deposits exactly its weight w_i
  (default 1): Σ_kl ρ̃_t Δx Δy = N_t (species-blind: one channel, all particles, Σ = N). A width well
  below a pixel tends to nearest-pixel assignment.
- **M, cloud-in-cell** (``kernel="cic"``): bilinear weights on the four pixels around the particle,
  the adjoint of M⁻¹; ``width`` is ignored.
- **M⁻¹**: periodic bilinear interpolation of an image at the particle positions. It is exact for
  fields linear between pixel centres and has an O(Δ²) error for smooth fields.

References: [O].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_WIDTH",
    "INPUT_KINDS",
    "Gridding",
    "InputKind",
    "density_image",
    "interpolate_periodic",
]

DEFAULT_GRID = 128
DEFAULT_WIDTH = 0.3

Kernel = Literal["gaussian", "cic"]
InputKind = Literal["density", "per_type"]
#: ``density``: [O]'s species-blind ρ(r), one channel; ``per_type``: one channel per particle type
INPUT_KINDS: tuple[str, ...] = ("density", "per_type")


def _gaussian_weights(x: np.ndarray, length: float, grid: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle pixel indices (N, S) and normalised Gaussian weights (N, S) along one axis."""
    pixel = length / grid
    half = int(math.ceil(4.0 * width / pixel)) + 1
    offsets = np.arange(-half, half + 1)
    nearest = np.floor(x / pixel).astype(np.int64)
    index = nearest[:, None] + offsets[None, :]
    distance = (index + 0.5) * pixel - x[:, None]
    weights = np.exp(-0.5 * (distance / width) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.mod(index, grid), weights


def _cic_weights(x: np.ndarray, length: float, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle pixel indices (N, 2) and bilinear weights (N, 2) along one axis."""
    u = x / (length / grid) - 0.5
    lower = np.floor(u)
    frac = u - lower
    index = lower.astype(np.int64)[:, None] + np.array([0, 1])
    return np.mod(index, grid), np.stack((1.0 - frac, frac), axis=1)


def _axis_weights(x: np.ndarray, length: float, grid: int, kernel: Kernel, width: float):  # noqa: ANN202
    if kernel == "cic":
        return _cic_weights(x, length, grid)
    if kernel == "gaussian":
        if width <= 0:
            raise ValueError(f"Gaussian width must be positive, got {width}")
        return _gaussian_weights(x, length, grid, width)
    raise ValueError(f"unknown kernel {kernel!r}: use 'gaussian' or 'cic'")


def density_image(
    config: Configuration,
    n_types: int | None = None,
    grid: int = DEFAULT_GRID,
    width: float = DEFAULT_WIDTH,
    kernel: Kernel = "gaussian",
    weights: np.ndarray | None = None,
    dtype: DTypeLike = np.float32,
    species_blind: bool = False,
) -> np.ndarray:
    """M: the configuration as a periodic density image, one channel per particle type (or one in all).

    Args:
        config: positions in the box, types 0 … n_types − 1.
        n_types: number of channels (default: the system's type count, else max(type) + 1); ignored
            when ``species_blind``.
        grid: G, pixels per side.
        width: Gaussian standard deviation in length units (``kernel="gaussian"``).
        kernel: ``"gaussian"`` or ``"cic"`` (cloud in cell).
        weights: (N,) value w_i deposited by each particle (default 1: number density).
        species_blind: one channel holding every particle, ρ(r) = Σ_i δ(r − r_i) gridded [O]; the types
            are not read.

    Returns:
        (n_types, G, G) array (species-blind: (1, G, G)): Σ over the image × pixel area = Σ_i w_i per channel.
    """
    if species_blind:
        n_types = 1
    elif n_types is None:
        n_types = get_system(config.system).n_types if config.system else int(config.types.max()) + 1
    w = np.ones(config.n_particles) if weights is None else np.asarray(weights, dtype=np.float64)
    ix, wx = _axis_weights(config.positions[:, 0], config.box[0], grid, kernel, width)
    iy, wy = _axis_weights(config.positions[:, 1], config.box[1], grid, kernel, width)
    channel = np.zeros(config.n_particles, dtype=np.int64) if species_blind else config.types.astype(np.int64)
    flat = (channel[:, None, None] * grid + ix[:, :, None]) * grid + iy[:, None, :]
    values = (w[:, None, None] * wx[:, :, None]) * wy[:, None, :]
    pixel_area = (config.box[0] / grid) * (config.box[1] / grid)
    image = np.bincount(flat.ravel(), values.ravel(), minlength=n_types * grid * grid) / pixel_area
    return image.reshape(n_types, grid, grid).astype(dtype, copy=False)


def interpolate_periodic(image: np.ndarray, positions: np.ndarray, box: tuple[float, float]) -> np.ndarray:
    """M⁻¹: periodic bilinear interpolation of ``image`` at ``positions``.

    Args:
        image: (..., Gx, Gy) field(s) on pixel centres of the periodic box.
        positions: (N, 2) points.
        box: (Lx, Ly).

    Returns:
        (..., N) values, float64.
    """
    image = np.asarray(image, dtype=np.float64)
    gx, gy = image.shape[-2:]
    ix, wx = _cic_weights(np.asarray(positions)[:, 0], box[0], gx)
    iy, wy = _cic_weights(np.asarray(positions)[:, 1], box[1], gy)
    corners = image[..., ix[:, :, None], iy[:, None, :]]  # (..., N, 2, 2)
    return np.einsum("...nab,na,nb->...n", corners, wx, wy)


@dataclass(frozen=True)
class Gridding:
    """M and M⁻¹ with one set of parameters (the CNN must see images made as it was trained on).

    Attributes:
        n_types: particle types of the system (the channels of a ``per_type`` image).
        grid: G, pixels per side.
        width: Gaussian kernel standard deviation (length units).
        kernel: ``"gaussian"`` or ``"cic"``.
        input_kind: ``"per_type"`` (one channel per type) or ``"density"`` ([O]: one species-blind channel).
    """

    n_types: int
    grid: int = DEFAULT_GRID
    width: float = DEFAULT_WIDTH
    kernel: Kernel = "gaussian"
    input_kind: InputKind = "per_type"

    def __post_init__(self) -> None:
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {self.input_kind!r}: use one of {INPUT_KINDS}")

    @property
    def n_channels(self) -> int:
        """Channels of the image: 1 for ``density``, ``n_types`` for ``per_type``."""
        return 1 if self.input_kind == "density" else self.n_types

    def at_box(self, trained_box_length: float, box_length: float) -> Gridding:
        """This map M for a square box of side ``box_length`` when it was made for ``trained_box_length``: the same
        pixel size, grid G·L/L_train (at least 1). A CNN with a pooled head reads the larger image as it was trained."""
        return replace(self, grid=max(1, round(self.grid * box_length / trained_box_length)))

    def image(self, config: Configuration) -> np.ndarray:
        """(n_channels, G, G) float32 density image M(ρ)."""
        return density_image(
            config, self.n_types, self.grid, self.width, self.kernel, species_blind=self.input_kind == "density"
        )

    def images(self, configs: Sequence[Configuration]) -> np.ndarray:
        """(S, n_channels, G, G) float32 stack of images."""
        out = np.empty((len(configs), self.n_channels, self.grid, self.grid), dtype=np.float32)
        for s, config in enumerate(configs):
            out[s] = self.image(config)
        return out

    def at_particles(self, image: np.ndarray, config: Configuration) -> np.ndarray:
        """M⁻¹: (N,) values of a (G, G) map at the particles of ``config``."""
        return interpolate_periodic(image, config.positions, config.box)
