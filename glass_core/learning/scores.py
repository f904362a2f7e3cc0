"""Scores of propensity predictions: Pearson per configuration, and the best single descriptor baseline.

A prediction X̂ of the propensity X of one state point is scored as in [J] eq. 8 by the Pearson coefficient
over the particles of a configuration (optionally one type: [J] and GlassBench report type A),

    ρ = Σ_i (X̂_i − ⟨X̂⟩)(X_i − ⟨X⟩) / √(Σ_i (X̂_i − ⟨X̂⟩)² Σ_i (X_i − ⟨X⟩)²),

averaged over the test configurations and reported with its standard error s/√n. Computing ρ within each
configuration keeps configuration-to-configuration shifts of the mean out of the score.

**Best single descriptor** (the baseline of [R]): every descriptor column is correlated with the labels over
the training rows; the one with the largest |ρ| is chosen there (with its sign, so "lower energy = less
mobile" counts as a positive predictor) and scored on the test rows like a model.

[J] Jung, Biroli, Berthier, arXiv:2310.20252; [R] the roadmap on machine learning glassy dynamics,
arXiv:2311.14752.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glass_core.learning.correlations import pearson

__all__ = ["ConfigurationScore", "best_single_descriptor", "pearson_by_configuration"]


@dataclass(frozen=True)
class ConfigurationScore:
    """Mean Pearson over ``n`` configurations and its standard error (NaN for n < 2)."""

    mean: float
    stderr: float
    n: int


def pearson_by_configuration(
    prediction: np.ndarray, labels: np.ndarray, configuration: np.ndarray, mask: np.ndarray | None = None
) -> ConfigurationScore:
    """Pearson of (n,) ``prediction`` and ``labels`` within each configuration id, averaged over configurations.

    ``mask`` (n,) bool restricts the particles (e.g. type A). Configurations with a constant field or fewer
    than two particles are skipped.
    """
    prediction, labels, configuration = (np.asarray(a) for a in (prediction, labels, configuration))
    if not prediction.shape == labels.shape == configuration.shape:
        raise ValueError(f"shapes differ: {prediction.shape}, {labels.shape}, {configuration.shape}")
    keep = np.ones(len(labels), bool) if mask is None else np.asarray(mask, bool)
    values = []
    for c in np.unique(configuration[keep]):
        rows = keep & (configuration == c)
        if rows.sum() >= 2:
            values.append(pearson(prediction[rows], labels[rows]))
    values = np.array([v for v in values if np.isfinite(v)])
    if values.size == 0:
        return ConfigurationScore(float("nan"), float("nan"), 0)
    stderr = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size >= 2 else float("nan")
    return ConfigurationScore(float(values.mean()), stderr, int(values.size))


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
