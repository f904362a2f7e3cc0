"""Dynamic length scales that need no large box: the average chord length and the attention length [J].

Chord length ([J] §V.2, after [SGB22] §VI D). The particles of one configuration are mapped onto a square
lattice of n_x × n_y sites, n = round(L / cell_size) (so the cell is L/n ≈ cell_size, default 1 σ). Each site
gets a value from the particles whose positions fall in it, and is *active* (mobile) or not:

- ``site_rule="mean_propensity"`` (default): the site value is the mean propensity X of its particles;
  the site is active when that value lies on the mobile side of the threshold (default: the median of
  the particle propensities).
- ``site_rule="active_fraction"`` ([J]'s adapted definition): each particle is first marked active,
  n_i = 1, when X_i lies on the mobile side of the median; the site value is the mean n_i of its
  particles; the site is active when that exceeds 1/2 ([J]'s extracted text lost the site threshold;
  1/2 is our choice). The two rules coincide for sites holding one particle.

``mobile="below"`` (default) for the bond-breaking propensity C_B: a small C_B means broken bonds, i.e.
a mobile particle ([J]: "if a particle propensity is below this median it is defined as active");
``"above"`` for fields where large means mobile (squared displacements). Empty sites (≈ 1–10 % at 1 σ
cells in these liquids) take the value of the particle nearest to the site centre (periodic distance),
so every site is classified and chords are not cut by holes of the lattice. NaN labels are skipped.

Chords are maximal runs of adjacent active sites along every row (x direction) and every column (y),
with periodic wrap: a run crossing the box edge is one chord, and a fully active row is one chord of
length L. The chord's length is its number of sites × the cell side along that direction (σ), and
ℓ_ch is the mean over all chords of rows and columns together. Per configuration, then mean ± standard
error over configurations. The median threshold is taken over all particles of all configurations of
the state point (``median_over="ensemble"``, as [J] does "for each time and temperature") or per
configuration.

Random-field reference. A field of independent values on the same particles (same lattice, same empty
sites, same site rule and threshold) has no dynamic correlation at all; its ℓ_ch is the floor against
which a measured or predicted ℓ_ch is read (:func:`random_field_chord_length`). On a lattice with one
particle per site and a median threshold, each site is active with probability p = 1/2 independently, so
runs along a row are geometric and ℓ_ch → 1/(1 − p) = 2 cells for long rows. At N = 256 ternary particles at
ρ = 1.192 and 1 σ cells (several particles in some sites, a few empty) it is ≈ 2.14 σ for all particles;
for one species alone (fewer particles per site, more empty sites filled by their nearest particle) it is
longer (≈ 2.6 σ for type A at N = 256). A field that alternates with the species of a chemically
ordered mixture gives less than the random field; a correlated (heterogeneous) one more.

Attention length ([J] §VI.1). tGlassMLP's attention layer gives each descriptor k a weight w_k (averaged
over particles). Averaging the w_k over the descriptors that share a coarse-graining length L and
normalising gives P(L), Σ_L P(L) = 1; its mean ⟨L⟩ = Σ_L L P(L) is a learned length. [J] *averages*
over the descriptors of one L (``aggregate="mean"``, default); ``"sum"`` sums them instead — the two
agree when every L has the same number of descriptors (not so when zero-variance features, such as the
density at L = 0, are dropped). With several ensemble members, P(L) and ⟨L⟩ are their means and the
spread is the standard deviation across members ([J]'s error bar).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "AttentionLength",
    "ChordLength",
    "ChordLengthEnsemble",
    "attention_length",
    "chord_length",
    "chords",
    "lattice_shape",
    "lattice_site_values",
    "mean_chord_length",
    "random_field_chord_length",
]

Mobile = Literal["below", "above"]
SiteRule = Literal["mean_propensity", "active_fraction"]


# --------------------------------------------------------------------------------------------- lattice
def lattice_shape(box: tuple[float, float], cell_size: float) -> tuple[int, int]:
    """Sites per side, n = max(1, round(L / cell_size))."""
    if not cell_size > 0:
        raise ValueError(f"cell_size must be positive, got {cell_size}")
    return max(1, round(box[0] / cell_size)), max(1, round(box[1] / cell_size))


def lattice_site_values(
    positions: np.ndarray, values: np.ndarray, box: tuple[float, float], shape: tuple[int, int]
) -> np.ndarray:
    """(n_x, n_y) mean of ``values`` over the particles in each site; empty sites take the value of the
    particle nearest to their centre (periodic). ``positions`` (N, 2), ``values`` (N,) without NaN."""
    box_arr = np.asarray(box, np.float64)
    shape_arr = np.asarray(shape)
    wrapped = np.mod(positions, box_arr)
    site = np.minimum((wrapped / box_arr * shape_arr).astype(np.int64), shape_arr - 1)
    flat = site[:, 0] * shape[1] + site[:, 1]
    n_sites = shape[0] * shape[1]
    count = np.bincount(flat, minlength=n_sites)
    total = np.bincount(flat, weights=values, minlength=n_sites)
    site_values = np.empty(n_sites)
    filled = count > 0
    site_values[filled] = total[filled] / count[filled]
    if not filled.all():
        empty = np.flatnonzero(~filled)
        centres = (np.stack([empty // shape[1], empty % shape[1]], axis=-1) + 0.5) * box_arr / shape_arr
        tree = cKDTree(wrapped, boxsize=box_arr * (1 + 1e-12))
        _, nearest = tree.query(centres)
        site_values[empty] = values[nearest]
    return site_values.reshape(shape)


def _runs_along_last_axis(active: np.ndarray) -> np.ndarray:
    """Lengths (in sites) of the maximal periodic runs of True along the last axis of (R, n) ``active``."""
    rows, n = active.shape
    full = active.all(axis=1)
    partial = active[~full & active.any(axis=1)]
    lengths = [np.full(int(full.sum()), n, dtype=np.int64)]
    if partial.shape[0]:
        start = np.argmin(partial, axis=1)  # first inactive site: rolling there removes the wrap
        rolled = np.take_along_axis(partial, (np.arange(n)[None, :] + start[:, None]) % n, axis=1)
        edges = np.diff(np.pad(rolled.astype(np.int8), ((0, 0), (1, 1))), axis=1)
        begins = np.nonzero(edges == 1)  # row-major: begins and ends pair up in order
        ends = np.nonzero(edges == -1)
        lengths.append(ends[1] - begins[1])
    return np.concatenate(lengths)


def chords(active: np.ndarray, cell: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Lengths (σ) of all chords of a periodic (n_x, n_y) boolean lattice, rows (x) then columns (y).

    A chord along x at fixed y has length (sites × cell[0]); along y, (sites × cell[1]).
    """
    active = np.asarray(active, dtype=bool)
    if active.ndim != 2:
        raise ValueError(f"active must be a 2D lattice, got shape {active.shape}")
    along_x = _runs_along_last_axis(active.T) * cell[0]
    along_y = _runs_along_last_axis(active) * cell[1]
    return np.concatenate([along_x, along_y]).astype(np.float64)


# --------------------------------------------------------------------------------------------- chord length
@dataclass(frozen=True)
class ChordLength:
    """Chord statistics of one configuration.

    Attributes:
        mean_length: ℓ_ch, mean chord length (σ).
        n_chords: chords along rows and columns.
        active_fraction: fraction of active lattice sites.
        lattice_shape: (n_x, n_y).
        cell: (L_x/n_x, L_y/n_y), the site sides (σ).
        threshold: the propensity threshold used.
    """

    mean_length: float
    n_chords: int
    active_fraction: float
    lattice_shape: tuple[int, int]
    cell: tuple[float, float]
    threshold: float


def _mobile_side(values: np.ndarray, threshold: float, mobile: Mobile) -> np.ndarray:
    return values < threshold if mobile == "below" else values > threshold


def chord_length(
    positions: np.ndarray,
    values: np.ndarray,
    box: tuple[float, float],
    cell_size: float = 1.0,
    threshold: float | None = None,
    mobile: Mobile = "below",
    site_rule: SiteRule = "mean_propensity",
) -> ChordLength:
    """Mean chord length ℓ_ch of one configuration: ``positions`` (N, 2), ``values`` (N,) (NaN skipped).

    ``threshold`` defaults to the median of the labelled values. Raises ``ValueError`` for bad shapes,
    an unknown ``mobile``/``site_rule``, no labelled particle, or a lattice without any active site
    (no chord: ℓ_ch undefined).
    """
    if mobile not in ("below", "above"):
        raise ValueError(f"mobile must be 'below' or 'above', got {mobile!r}")
    if site_rule not in ("mean_propensity", "active_fraction"):
        raise ValueError(f"site_rule must be 'mean_propensity' or 'active_fraction', got {site_rule!r}")
    positions = np.asarray(positions, np.float64)
    values = np.asarray(values, np.float64)
    if positions.ndim != 2 or positions.shape[1] != 2 or values.shape != (positions.shape[0],):
        raise ValueError(f"positions {positions.shape} and values {values.shape} must be (N, 2) and (N,)")
    labelled = ~np.isnan(values)
    if not labelled.any():
        raise ValueError("no labelled particle (all values NaN)")
    positions, values = positions[labelled], values[labelled]
    box = (float(box[0]), float(box[1]))
    threshold = float(np.median(values)) if threshold is None else float(threshold)
    shape = lattice_shape(box, cell_size)
    cell = (box[0] / shape[0], box[1] / shape[1])
    if site_rule == "mean_propensity":
        active = _mobile_side(lattice_site_values(positions, values, box, shape), threshold, mobile)
    else:
        particle_active = _mobile_side(values, threshold, mobile).astype(np.float64)
        active = lattice_site_values(positions, particle_active, box, shape) > 0.5
    lengths = chords(active, cell)
    if lengths.size == 0:
        raise ValueError(f"no active lattice site at threshold {threshold:.6g} ({mobile}): ℓ_ch is undefined")
    return ChordLength(float(lengths.mean()), int(lengths.size), float(active.mean()), shape, cell, threshold)


@dataclass(frozen=True)
class ChordLengthEnsemble:
    """ℓ_ch over configurations.

    Attributes:
        mean: mean of the per-configuration ℓ_ch (σ).
        stderr: standard error over configurations (NaN for a single configuration).
        n_configurations: configurations.
        per_configuration: (n_conf,) ℓ_ch of each.
        median_over: ``"ensemble"`` or ``"configuration"``.
    """

    mean: float
    stderr: float
    n_configurations: int
    per_configuration: np.ndarray
    median_over: str


def mean_chord_length(
    positions: np.ndarray,
    fields: np.ndarray,
    box: tuple[float, float],
    cell_size: float = 1.0,
    median_over: Literal["ensemble", "configuration"] = "ensemble",
    mobile: Mobile = "below",
    site_rule: SiteRule = "mean_propensity",
) -> ChordLengthEnsemble:
    """ℓ_ch of each configuration and their mean ± SE: ``positions`` (n_conf, N, 2) or shared (N, 2),
    ``fields`` (n_conf, N). The median threshold is over all labelled particles of the ensemble
    (``"ensemble"``, [J]) or per configuration."""
    if median_over not in ("ensemble", "configuration"):
        raise ValueError(f"median_over must be 'ensemble' or 'configuration', got {median_over!r}")
    fields = np.asarray(fields, np.float64)
    if fields.ndim == 1:
        fields = fields[None]
    positions = np.asarray(positions, np.float64)
    if positions.ndim == 2:
        positions = np.broadcast_to(positions, (fields.shape[0], *positions.shape))
    if positions.ndim != 3 or positions.shape[:2] != fields.shape:
        raise ValueError(f"positions {positions.shape} and fields {fields.shape} must be (n_conf, N, 2), (n_conf, N)")
    threshold = float(np.nanmedian(fields)) if median_over == "ensemble" else None
    per_conf = np.array(
        [
            chord_length(positions[c], fields[c], box, cell_size, threshold, mobile, site_rule).mean_length
            for c in range(fields.shape[0])
        ]
    )
    n = per_conf.size
    stderr = float(per_conf.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return ChordLengthEnsemble(float(per_conf.mean()), stderr, n, per_conf, median_over)


def random_field_chord_length(
    positions: np.ndarray,
    labelled: np.ndarray,
    box: tuple[float, float],
    cell_size: float = 1.0,
    median_over: Literal["ensemble", "configuration"] = "ensemble",
    site_rule: SiteRule = "mean_propensity",
    n_draws: int = 20,
    seed: int = 0,
) -> ChordLengthEnsemble:
    """ℓ_ch of independent uniform random fields on the ``labelled`` particles (module doc): ``positions``
    (n_conf, N, 2) or shared (N, 2), ``labelled`` (n_conf, N) bool (False where the measured field is NaN, e.g.
    another species). Mean ± SE over ``n_draws`` × n_conf configurations' ℓ_ch, seeded."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be ≥ 1, got {n_draws}")
    labelled = np.atleast_2d(np.asarray(labelled, dtype=bool))
    rng = np.random.default_rng(seed)
    per_draw = []
    for _ in range(n_draws):
        field = np.where(labelled, rng.random(labelled.shape), np.nan)
        result = mean_chord_length(positions, field, box, cell_size, median_over, "below", site_rule)
        per_draw.append(result.per_configuration)
    values = np.concatenate(per_draw)
    stderr = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")
    return ChordLengthEnsemble(float(values.mean()), stderr, int(labelled.shape[0]), values, median_over)


# --------------------------------------------------------------------------------------------- attention
@dataclass(frozen=True)
class AttentionLength:
    """P(L) and ⟨L⟩ from attention weights.

    Attributes:
        lengths: (n_L,) the distinct coarse-graining lengths, ascending.
        distribution: (n_L,) P(L), mean over members (sums to 1).
        distribution_spread: (n_L,) standard deviation of P(L) across members (0 for one member).
        per_member: (n_members, n_L) each member's P(L).
        mean_length: ⟨L⟩ = Σ L P(L), mean over members.
        mean_length_spread: standard deviation of ⟨L⟩ across members (0 for one member).
        per_member_mean_length: (n_members,).
        aggregate: ``"mean"`` or ``"sum"`` over the descriptors of one L.
    """

    lengths: np.ndarray
    distribution: np.ndarray
    distribution_spread: np.ndarray
    per_member: np.ndarray
    mean_length: float
    mean_length_spread: float
    per_member_mean_length: np.ndarray
    aggregate: str


def attention_length(
    weights: np.ndarray, feature_lengths: np.ndarray, aggregate: Literal["mean", "sum"] = "mean"
) -> AttentionLength:
    """P(L) and ⟨L⟩ from ``weights`` (n_members, M) or (M,) — each descriptor's particle-averaged
    attention weight — and ``feature_lengths`` (M,), the coarse-graining length of each descriptor.

    Raises ``ValueError`` for mismatched shapes, negative or non-finite weights, a member whose weights
    are all zero, or an unknown ``aggregate``.
    """
    if aggregate not in ("mean", "sum"):
        raise ValueError(f"aggregate must be 'mean' or 'sum', got {aggregate!r}")
    weights = np.atleast_2d(np.asarray(weights, np.float64))
    feature_lengths = np.asarray(feature_lengths, np.float64)
    if weights.ndim != 2 or feature_lengths.shape != (weights.shape[1],):
        shapes = f"weights {weights.shape}, feature_lengths {feature_lengths.shape}"
        raise ValueError(f"{shapes}: need (n_members, M) and (M,)")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("attention weights must be finite and non-negative")
    lengths, group = np.unique(feature_lengths, return_inverse=True)
    per_length = np.stack([np.bincount(group, weights=w, minlength=lengths.size) for w in weights])
    if aggregate == "mean":
        per_length = per_length / np.bincount(group, minlength=lengths.size)
    totals = per_length.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("a member's attention weights are all zero: P(L) is undefined")
    distribution = per_length / totals
    member_mean = distribution @ lengths
    ddof = 1 if weights.shape[0] > 1 else 0
    return AttentionLength(
        lengths=lengths,
        distribution=distribution.mean(axis=0),
        distribution_spread=distribution.std(axis=0, ddof=ddof),
        per_member=distribution,
        mean_length=float(member_mean.mean()),
        mean_length_spread=float(member_mean.std(ddof=ddof)),
        per_member_mean_length=member_mean,
        aggregate=aggregate,
    )
