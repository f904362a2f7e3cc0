"""The propensity models' scores as ``mlp_scores`` rows: the Pearson by configuration of a predictor with the MD
labels, per state point, split and particle subset.

The subsets scored are the model's own (its trained particle types) and, where type A is one of several trained
types, type A within it ([J] and GlassBench report type A). Beside the models stands the best single descriptor,
chosen on the training rows per state point ([J]'s baseline); :func:`cb_errors` measures how far the mean
prediction lies from the requested ⟨C_B⟩.
"""

import numpy as np

from glass_core.learning.mlp_data import PropensityDataset
from glass_core.learning.scores import best_single_descriptor, pearson_by_configuration

__all__ = ["baseline_score_rows", "cb_errors", "score_rows"]


def _score_subsets(dataset: PropensityDataset, label: str) -> list[tuple[str, np.ndarray | None]]:
    """(subset label, particle mask) to score: the model's own subset, and type A within it where A is one of
    several trained types ([J] and GlassBench report type A)."""
    subsets: list[tuple[str, np.ndarray | None]] = [(label, None)]
    if label != "A" and (dataset.types == 0).any():
        subsets.insert(0, ("A", dataset.types == 0))
    return subsets


def score_rows(
    predictor: str, dataset: PropensityDataset, prediction: np.ndarray, split: str, label: str
) -> list[dict[str, object]]:
    """``mlp_scores`` rows of one predictor on one split: per state point and particle subset (module doc)."""
    rows = []
    for temperature, cb in dataset.state_points():
        at = dataset.at_state_point(temperature, cb)
        for subset, mask in _score_subsets(dataset.subset(at), label):
            score = pearson_by_configuration(prediction[at], dataset.labels[at], dataset.configuration[at], mask)
            rows.append(
                {
                    "predictor": predictor,
                    "temperature": float(temperature),
                    "target_cb": float(cb),
                    "split": split,
                    "subset": subset,
                    "pearson": _finite_or_none(score.mean),
                    "stderr": _finite_or_none(score.stderr),
                    "n_configurations": score.n,
                }
            )
    return rows


def _finite_or_none(value: float) -> float | None:
    """NULL, not NaN, in the warehouse: an undefined Pearson (constant field) or a standard error of n = 1."""
    return float(value) if np.isfinite(value) else None


def baseline_score_rows(
    train: PropensityDataset, test: PropensityDataset, names: list[str], label: str
) -> list[dict[str, object]]:
    """Best single descriptor (chosen on the training rows of the model's types, per state point, signed) scored
    on test."""
    rows = []
    for temperature, cb in test.state_points():
        column, sign = best_single_descriptor(
            train.features[train.at_state_point(temperature, cb)], train.labels[train.at_state_point(temperature, cb)]
        )
        at = test.at_state_point(temperature, cb)
        prediction = np.zeros(len(test))
        prediction[at] = sign * test.features[at, column]
        predictor = f"best_descriptor:{names[column]}({'+' if sign > 0 else '−'})"
        rows += [
            r
            for r in score_rows(predictor, test, prediction, "test", label)
            if (r["temperature"], r["target_cb"]) == (temperature, cb)
        ]
    return rows


def cb_errors(dataset: PropensityDataset, prediction: np.ndarray) -> dict[tuple[float, float], float]:
    """Mean prediction − requested ⟨C_B⟩ per state point of the test split."""
    return {
        (float(t), float(c)): float(prediction[dataset.at_state_point(t, c)].mean() - c)
        for t, c in dataset.state_points()
    }
