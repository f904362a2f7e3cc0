"""What glassbench_scores needs besides the champion: its descriptor spec, the platform's best-descriptor
baseline, GlassMLP state-point matching and the score rows (pure functions of arrays and tables)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from glass_core.learning.scores import pearson_by_configuration

__all__ = [
    "CB_MATCH_TOLERANCE",
    "BaselineChoice",
    "baseline_choices",
    "matching_state_point",
    "nearest_baseline",
    "score_rows",
]

#: a GlassMLP ensemble of state point (T, c) scores GlassBench at (T', c') only if T = T' and |c − c'| ≤ this
CB_MATCH_TOLERANCE = 0.02
_BASELINE = re.compile(r"^best_descriptor:(?P<name>.+)\((?P<sign>[+−-])\)$")


@dataclass(frozen=True)
class BaselineChoice:
    """The best single descriptor (column name, sign) that the platform chose on its training split at a state point."""

    temperature: float
    target_cb: float
    name: str
    sign: float

    @property
    def predictor(self) -> str:
        return f"best_descriptor:{self.name}({'+' if self.sign > 0 else '−'})"


def baseline_choices(scores: pl.DataFrame) -> list[BaselineChoice]:
    """Baseline choices recorded in ``mlp_scores`` rows (predictor 'best_descriptor:<name>(±)', split 'test')."""
    choices = {}
    for row in scores.filter(pl.col("split") == "test").iter_rows(named=True):
        match = _BASELINE.match(row["predictor"])
        if match:
            sign = 1.0 if match["sign"] == "+" else -1.0
            key = (float(row["temperature"]), float(row["target_cb"]))
            choices[key] = BaselineChoice(*key, match["name"], sign)
    return [choices[k] for k in sorted(choices)]


def nearest_baseline(choices: list[BaselineChoice], cb: float) -> BaselineChoice | None:
    """The choice of the platform state point nearest in ⟨C_B⟩ to ``cb`` (ties: the lowest temperature, the
    closest to GlassBench's supercooled ones); ``None`` without choices."""
    if not choices:
        return None
    return min(choices, key=lambda c: (abs(c.target_cb - cb), c.temperature))


def matching_state_point(keys: list[tuple[float, float]], temperature: float, cb: float) -> tuple[float, float] | None:
    """The GlassMLP state point (T, c) with T = ``temperature`` and |c − ``cb``| ≤ ``CB_MATCH_TOLERANCE``, nearest
    in c; ``None`` where no ensemble was trained there."""
    close = [k for k in keys if np.isclose(k[0], temperature) and abs(k[1] - cb) <= CB_MATCH_TOLERANCE]
    return min(close, key=lambda k: abs(k[1] - cb)) if close else None


def score_rows(
    predictor: str,
    prediction: np.ndarray,
    labels: np.ndarray,
    sample: np.ndarray,
    types: np.ndarray,
    temperature: float,
    measured_cb: float,
    time: float,
) -> list[dict[str, object]]:
    """``mlp_scores`` rows (split 'glassbench') of one predictor at one GlassBench state point: per-configuration
    Pearson [J eq. 8] over type A and over all particles, mean ± standard error over the structures, NULL where
    undefined. Particles without a label (NaN) are left out."""
    labelled = np.isfinite(labels)
    rows = []
    for subset, mask in (("A", types[labelled] == 0), ("all", None)):
        score = pearson_by_configuration(prediction[labelled], labels[labelled], sample[labelled], mask)
        rows.append(
            {
                "predictor": predictor,
                "temperature": float(temperature),
                "target_cb": float(measured_cb),
                "split": "glassbench",
                "subset": subset,
                "pearson": None if np.isnan(score.mean) else score.mean,
                "stderr": None if np.isnan(score.stderr) else score.stderr,
                "n_configurations": score.n,
                "time": float(time),
            }
        )
    return rows
