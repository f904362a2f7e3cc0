"""Scores of propensity predictions: Pearson per configuration, and the best single descriptor baseline.

A prediction X̂ of the propensity X of one state point is scored as in [J] eq. 8 by the Pearson coefficient
over the particles of a configuration (optionally one type: [J] and GlassBench report type A),

    ρ = Σ_i (X̂_i − ⟨X̂⟩)(X_i − ⟨X⟩) / √(Σ_i (X̂_i − ⟨X̂⟩)² Σ_i (X_i − ⟨X⟩)²),

averaged over the test configurations and reported with its standard error s/√n. Computing ρ within each
configuration keeps configuration-to-configuration shifts of the mean out of the score.

**Best single descriptor** (the baseline of [R]): every descriptor column is correlated with the labels over
the training rows; the one with the largest |ρ| is chosen there (with its sign, so "lower energy = less
mobile" counts as a positive predictor) and scored on the test rows like a model.

References: [J]; [R].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.learning.correlations import pearson

__all__ = ["ConfigurationScore", "best_single_descriptor", "pearson_by_configuration", "undefined_cause"]


@dataclass(frozen=True)
class ConfigurationScore:
    """Mean Pearson over the ``n`` configurations where it is defined, its standard error (NaN for n < 2), how many
    configurations were left out as undefined and why.

    Attributes:
        mean: mean of the per-configuration Pearson coefficients; NaN when no configuration has one.
        stderr: s/√n (ddof = 1); NaN for n < 2.
        n: configurations with a defined coefficient.
        n_undefined: configurations of the subset whose coefficient is undefined (left out of the mean).
        reason: why configurations were left out (e.g. ``"labels constant (all = 1) in 2 of 2 configurations:
            Pearson undefined"``); ``None`` when every configuration counts.
    """

    mean: float
    stderr: float
    n: int
    n_undefined: int = 0
    reason: str | None = None


def undefined_cause(prediction: np.ndarray, labels: np.ndarray) -> str | None:
    """Why the Pearson coefficient of one configuration's (n,) ``prediction`` and ``labels`` is undefined, or
    ``None`` when it is defined: fewer than two particles, constant labels (with their value), a constant
    prediction, or non-finite values. Mirrors the NaN cases of :func:`~glass_core.learning.correlations.pearson`."""
    prediction, labels = np.asarray(prediction, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if len(labels) < 2:
        return "fewer than two particles"
    if not (np.all(np.isfinite(labels)) and np.all(np.isfinite(prediction))):
        return "non-finite values"
    if np.all(labels == labels[0]):
        return f"labels constant (all = {labels[0]:g})"
    if np.all(prediction == prediction[0]):
        return "prediction constant"
    return None if np.isfinite(pearson(prediction, labels)) else "zero variance"


def _reason(causes: list[str], n_total: int, n_defined: int) -> str | None:
    """One sentence for the undefined configurations: each cause with its count, and what it did to the score."""
    if not causes:
        return None
    counts = {cause: causes.count(cause) for cause in dict.fromkeys(causes)}
    plural = "s" if n_total > 1 else ""
    parts = "; ".join(f"{cause} in {k} of {n_total} configuration{plural}" for cause, k in counts.items())
    return f"{parts}: Pearson undefined" if n_defined == 0 else f"{parts}: left out of the mean"


def pearson_by_configuration(
    prediction: np.ndarray, labels: np.ndarray, configuration: np.ndarray, mask: np.ndarray | None = None
) -> ConfigurationScore:
    """Pearson of (n,) ``prediction`` and ``labels`` within each configuration id, averaged over configurations.

    ``mask`` (n,) bool restricts the particles (e.g. type A). Configurations where the coefficient is undefined (a
    constant field, fewer than two particles; :func:`undefined_cause`) are left out of the mean and counted in
    ``n_undefined`` with the ``reason``; with none defined the mean is NaN and ``n`` is 0. A mask that selects no
    particle gives the reason ``"no particle in the subset"``.
    """
    prediction, labels, configuration = (np.asarray(a) for a in (prediction, labels, configuration))
    if not prediction.shape == labels.shape == configuration.shape:
        raise ValueError(f"shapes differ: {prediction.shape}, {labels.shape}, {configuration.shape}")
    keep = np.ones(len(labels), bool) if mask is None else np.asarray(mask, bool)
    values, causes = [], []
    ids = np.unique(configuration[keep])
    for c in ids:
        rows = keep & (configuration == c)
        cause = undefined_cause(prediction[rows], labels[rows])
        if cause is None:
            values.append(pearson(prediction[rows], labels[rows]))
        else:
            causes.append(cause)
    values = np.array(values, dtype=np.float64)
    reason = _reason(causes, len(ids), values.size) if ids.size else "no particle in the subset"
    if values.size == 0:
        return ConfigurationScore(float("nan"), float("nan"), 0, len(causes), reason)
    stderr = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size >= 2 else float("nan")
    return ConfigurationScore(float(values.mean()), stderr, int(values.size), len(causes), reason)


def best_single_descriptor(features: np.ndarray, labels: np.ndarray) -> tuple[int, float]:
    """(column, sign) of the (n, M) descriptor with the largest |Pearson| against (n,) ``labels``.

    Constant columns are never chosen. Raises ``ValueError`` if every column is constant.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    dx = x - x.mean(axis=0)
    dy = y - y.mean()
    norms = np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(norms > 0, dx.T @ dy / norms, np.nan)
    if not np.isfinite(rho).any():
        raise ValueError("every descriptor column is constant over the training rows")
    column = int(np.nanargmax(np.abs(rho)))
    return column, float(np.sign(rho[column]))
