"""Bond-breaking labels per state point (T, ⟨C_B⟩): time–temperature superposition of [J].

[J] does not label a configuration's propensity by the time t but by the state point (T, ⟨C_B⟩), where
⟨C_B⟩(t) is the bond-breaking correlation averaged over the particles and the configurations of one
temperature. Which particles: those the model learns — [J] trains and reports type 1 ("the batch size is equal
to the number of type 1 particles per configuration"), and its self-consistency compares the networks' mean
prediction over those particles with ⟨C_B⟩, so ⟨C_B⟩ is the mean over the same particles (``particles``: a mask
per configuration; all particles without one). For each target c, the crossing time t_c solves ⟨C_B⟩(t_c) = c
(ln ⟨C_B⟩ interpolated linearly in t between the two bracketing frames,
:func:`glass_core.dynamics.propensity.relaxation_time`), and the label of particle i is its isoconfigurational
propensity at t_c, interpolated linearly in t between the same frames. A target the run does not reach (⟨C_B⟩
stays above it) gives no state point.

**Split-half ceiling.** With R replicas the label is itself a noisy estimate of the propensity. The
averages over the even and the odd replicas, X^a and X^b, correlate by r_half (Pearson within a
configuration, averaged over configurations); Spearman–Brown gives the reliability of the full average,
ρ = 2 r_half / (1 + r_half), and no prediction can correlate with the labels better than √ρ — the finite-
replica ceiling quoted with GlassBench numbers ([R]: ≈ 0.92 for 20 replicas at T = 0.30, t = 20 000).
r_half ≤ 0 gives a ceiling of 0.

References: [J] §II; [R].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.dynamics.propensity import mean_over_particles, relaxation_time

__all__ = ["StatePointLabels", "crossing_times", "labels_at_time", "split_half_ceiling", "state_point_labels"]


def crossing_times(times: np.ndarray, mean_curve: np.ndarray, targets: list[float]) -> dict[float, float]:
    """Times where the decreasing curve ⟨C_B⟩(t) reaches each target; targets never reached are left out.

    Raises ``ValueError`` for a target outside (0, 1).
    """
    out = {}
    for target in targets:
        if not 0.0 < target < 1.0:
            raise ValueError(f"state-point target ⟨C_B⟩ = {target!r} must lie strictly between 0 and 1")
        crossing = relaxation_time(times, mean_curve, level=target)
        if crossing is not None:
            out[float(target)] = crossing
    return out


def labels_at_time(times: np.ndarray, values: np.ndarray, time: float) -> np.ndarray:
    """(…, N) per-particle values at ``time``, linear in t between the bracketing frames of (F, …, N) ``values``.

    Raises ``ValueError`` if ``time`` lies outside the frames.
    """
    times = np.asarray(times, dtype=np.float64)
    if not times[0] <= time <= times[-1]:
        raise ValueError(f"time {time!r} lies outside the frames [{times[0]}, {times[-1]}]")
    k = int(np.searchsorted(times, time, side="left"))
    if times[k] == time:
        return np.asarray(values[k], dtype=np.float64)
    fraction = (time - times[k - 1]) / (times[k] - times[k - 1])
    return (1.0 - fraction) * values[k - 1] + fraction * values[k]


def split_half_ceiling(half_a: list[np.ndarray], half_b: list[np.ndarray]) -> tuple[float, float]:
    """(r_half, ceiling) from per-configuration split-half labels: r_half is the mean over configurations of
    Pearson(X^a, X^b) (NaN-labelled particles skipped), ceiling = √(2 r_half / (1 + r_half)) (0 if r_half ≤ 0).

    Returns (NaN, NaN) when no configuration has two defined halves.
    """
    values = []
    for a, b in zip(half_a, half_b, strict=True):
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 2 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
            values.append(float(np.corrcoef(a[ok], b[ok])[0, 1]))
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    r_half = float(np.mean(values))
    reliability = 2.0 * r_half / (1.0 + r_half) if r_half > 0 else 0.0
    return r_half, float(np.sqrt(reliability))


@dataclass(frozen=True)
class StatePointLabels:
    """Labels of one temperature's configurations at one target ⟨C_B⟩.

    Attributes:
        target: the requested ⟨C_B⟩; ``time``: t where the configuration-averaged ⟨C_B⟩ crosses it.
        labels: {sample: (N,) propensity at ``time``}; ``halves``: {sample: (2, N)} split-half labels.
        mean_bond_breaking: mean of the labels over the chosen particles and configurations (≈ target).
        split_half_r, ceiling: see :func:`split_half_ceiling`.
    """

    target: float
    time: float
    labels: dict[int, np.ndarray]
    halves: dict[int, np.ndarray]
    mean_bond_breaking: float
    split_half_r: float
    ceiling: float


def state_point_labels(
    times: np.ndarray,
    bond_breaking: dict[int, np.ndarray],
    halves: dict[int, np.ndarray],
    targets: list[float],
    particles: dict[int, np.ndarray] | None = None,
) -> list[StatePointLabels]:
    """Per-particle labels at each reached target ⟨C_B⟩ of one temperature.

    Args:
        times: (F,) frame times shared by every configuration.
        bond_breaking: {sample: (F, N) ⟨C_B^i(t)⟩_iso}, NaN for particles without bonds.
        halves: {sample: (2, F, N)} even/odd-replica averages (NaN where a half is empty).
        targets: ⟨C_B⟩ values in (0, 1).
        particles: {sample: (N,) bool} the particles whose mean is ⟨C_B⟩ (module doc; e.g. type A), which the
            mean label and the split-half ceiling also cover; None: all particles. Labels are given for all.
    """
    if not bond_breaking:
        raise ValueError("no configurations with bond-breaking labels")
    samples = sorted(bond_breaking)
    masks = {s: None if particles is None else np.asarray(particles[s], bool) for s in samples}
    if any(m is not None and not m.any() for m in masks.values()):
        raise ValueError("a configuration has none of the particles that define ⟨C_B⟩")
    mean_curve = np.mean([mean_over_particles(bond_breaking[s], masks[s]) for s in samples], axis=0)
    out = []
    for target, time in crossing_times(times, mean_curve, targets).items():
        labels = {s: labels_at_time(times, bond_breaking[s], time) for s in samples}
        split = {s: labels_at_time(times, np.moveaxis(halves[s], 0, 1), time) for s in samples}
        chosen = {s: slice(None) if masks[s] is None else masks[s] for s in samples}
        r_half, ceiling = split_half_ceiling([split[s][0][chosen[s]] for s in samples],
                                             [split[s][1][chosen[s]] for s in samples])
        mean = float(np.mean([np.nanmean(labels[s][chosen[s]]) for s in samples]))
        out.append(StatePointLabels(target, time, labels, split, mean, r_half, ceiling))
    return out
