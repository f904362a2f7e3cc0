"""What glassbench_scores needs besides the champion: the descriptor grid that holds the models' columns, the
particle types a model predicts, the platform's best-descriptor baseline, GlassMLP state-point matching and the score
rows with their explicit schema (pure functions of arrays and tables).

Scores are of type A as GlassBench [R] and [J] report them: every predictor has a type-A row (subset 'A', the
headline), and an 'all' row only when the model predicts every particle type. A score that cannot be defined (every
label of a structure equal, e.g. ⟨C_B^i⟩ = 1 at GlassBench's first time t = 0.1) is a row with ``pearson`` NULL and its
``reason``, never a crash: the frames carry :data:`SCORE_SCHEMA`, so an all-NULL ``pearson`` is still Float64.

References (docs/bibliography.md): [R]; [J]; [G].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.scores import pearson_by_configuration
from glass_core.structure.physics_descriptors import DESCRIPTOR_OBSERVABLES, DescriptorSpec, parse_feature_name

__all__ = [
    "CB_MATCH_TOLERANCE",
    "SCORE_SCHEMA",
    "TYPE_A",
    "BaselineChoice",
    "baseline_choices",
    "GlassBenchTime",
    "ScoredModel",
    "descriptor_grid",
    "feature_columns",
    "glassbench_times",
    "predict_glassmlp",
    "predict_tglassmlp",
    "recomputable",
    "matching_state_point",
    "model_particle_types",
    "nearest_baseline",
    "score_frame",
    "score_rows",
    "score_subsets",
    "undefined_rows",
]

#: type index of A (0 = A, 1 = B, 2 = C): the type GlassBench and [J] report
TYPE_A = 0

#: ``mlp_scores`` columns of a GlassBench score row, with their polars types (NULL-able: pearson, stderr, reason)
SCORE_SCHEMA: dict[str, pl.DataType] = {
    "system": pl.String(),
    "model_name": pl.String(),
    "model_version": pl.String(),
    "predictor": pl.String(),
    "temperature": pl.Float64(),
    "target_cb": pl.Float64(),
    "split": pl.String(),
    "subset": pl.String(),
    "pearson": pl.Float64(),
    "stderr": pl.Float64(),
    "n_configurations": pl.Int32(),
    "time": pl.Float64(),
    "reason": pl.String(),
}

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


def model_particle_types(ensemble: object, n_types: int) -> tuple[int, ...]:
    """The particle types (0 = A, 1 = B, 2 = C) that ``ensemble`` was trained on and is scored on: its
    ``particle_types`` (saved in its config), or every type of the system for a model saved before it had one."""
    types = getattr(ensemble, "particle_types", None)
    return tuple(range(n_types)) if types is None else tuple(sorted({int(t) for t in types}))


def score_subsets(particle_types: Sequence[int], n_types: int) -> tuple[str, ...]:
    """Subsets to score a model predicting ``particle_types`` on: 'A' always (the headline, as GlassBench and [J]),
    'all' only when it predicts every one of the ``n_types`` types."""
    return ("A", "all") if set(range(n_types)) <= set(particle_types) else ("A",)


def descriptor_grid(names: Sequence[str], n_types: int) -> DescriptorSpec:
    """The smallest descriptor grid (observables × channels × lengths) whose columns include every name of ``names``.

    A model's columns may be a subset of a grid (descriptors without variance dropped before training [G]), so the
    grid is spanned by the lengths and observables the names use; :func:`select_features` then picks the model's
    columns by name. Raises ``ValueError`` naming the names of an unknown observable or of no descriptor form.
    """
    if not names:
        raise ValueError("no descriptor names: the model has no feature_names")
    parsed = [parse_feature_name(name) for name in names]
    unknown = [name for name, parts in zip(names, parsed, strict=True) if parts[0] not in DESCRIPTOR_OBSERVABLES]
    if unknown:
        raise ValueError(
            f"descriptors {unknown[:5]} are of no observable of {DESCRIPTOR_OBSERVABLES}: not recomputable"
        )
    used = {observable for observable, _, _ in parsed}
    return DescriptorSpec(
        lengths=tuple(sorted({length for _, _, length in parsed})),
        observables=tuple(o for o in DESCRIPTOR_OBSERVABLES if o in used),
    )


def feature_columns(columns: Sequence[str], wanted: Sequence[str], model: str) -> list[int]:
    """Positions in ``columns`` (the recomputed descriptors' names) of ``wanted`` (a model's feature names, in the
    model's own order). Raises ``ValueError`` naming ``model`` and every name the recomputed descriptors lack."""
    position = {name: k for k, name in enumerate(columns)}
    missing = [name for name in wanted if name not in position]
    if missing:
        more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
        raise ValueError(
            f"{model} needs descriptors the GlassBench recomputation lacks: {missing[:10]}{more}; recomputed "
            f"{len(columns)} columns ({columns[0] if columns else '—'} … {columns[-1] if columns else '—'})"
        )
    return [position[name] for name in wanted]


def undefined_rows(
    predictor: str, subsets: Sequence[str], reason: str, temperature: float, measured_cb: float, time: float
) -> list[dict[str, object]]:
    """Rows with ``pearson`` NULL and ``reason`` for ``subsets`` of one predictor at one state point (a score
    that could not be computed at all, e.g. no labelled particle of the model's types)."""
    return [
        {
            "predictor": predictor,
            "temperature": float(temperature),
            "target_cb": float(measured_cb),
            "split": "glassbench",
            "subset": subset,
            "pearson": None,
            "stderr": None,
            "n_configurations": 0,
            "time": float(time),
            "reason": reason,
        }
        for subset in subsets
    ]


def score_rows(
    predictor: str,
    prediction: np.ndarray,
    labels: np.ndarray,
    sample: np.ndarray,
    types: np.ndarray,
    subsets: Sequence[str],
    temperature: float,
    measured_cb: float,
    time: float,
) -> list[dict[str, object]]:
    """``mlp_scores`` rows (split 'glassbench') of one predictor at one GlassBench state point: per-configuration
    Pearson [J eq. 8] over the particles of each subset ('A': type A; 'all': every type), mean ± standard error over
    the structures. Particles without a label (NaN) or without a prediction (NaN: a type the model does not predict)
    are left out. Where no structure has a defined coefficient ``pearson`` is NULL (never NaN) with the ``reason``;
    where some do, ``reason`` says which were left out of the mean."""
    prediction, labels = np.asarray(prediction, np.float64), np.asarray(labels, np.float64)
    rows = []
    for subset in subsets:
        if subset not in ("A", "all"):
            raise ValueError(f"unknown subset {subset!r}: use 'A' or 'all'")
        chosen = np.isfinite(labels) & ((types == TYPE_A) if subset == "A" else np.ones(len(labels), bool))
        unpredicted = chosen & ~np.isfinite(prediction)
        if unpredicted.any():
            missing = sorted({int(t) for t in types[unpredicted]})
            rows += undefined_rows(
                predictor,
                [subset],
                f"no prediction for particle types {missing}: the model does not predict them",
                temperature,
                measured_cb,
                time,
            )
            continue
        score = pearson_by_configuration(prediction[chosen], labels[chosen], sample[chosen])
        defined = score.n > 0
        rows.append(
            {
                "predictor": predictor,
                "temperature": float(temperature),
                "target_cb": float(measured_cb),
                "split": "glassbench",
                "subset": subset,
                "pearson": score.mean if defined else None,
                "stderr": score.stderr if np.isfinite(score.stderr) else None,
                "n_configurations": score.n,
                "time": float(time),
                "reason": score.reason,
            }
        )
    return rows


def score_frame(rows: Sequence[dict[str, object]], system: str, model_name: str, model_version: str) -> pl.DataFrame:
    """``rows`` of :func:`score_rows` as an ``mlp_scores`` frame with :data:`SCORE_SCHEMA`: NULL stays NULL and an
    all-NULL ``pearson`` column is Float64, not polars' Null type."""
    owner = {"system": system, "model_name": model_name, "model_version": str(model_version)}
    return pl.DataFrame([{**row, **owner} for row in rows], schema=SCORE_SCHEMA)


def recomputable(name: str) -> bool:
    """Whether ``name`` is a physics-inspired descriptor name (``OBS_CHANNEL_L<length>`` of a known observable)."""
    try:
        return parse_feature_name(name)[0] in DESCRIPTOR_OBSERVABLES
    except ValueError:
        return False


@dataclass(frozen=True)
class ScoredModel:
    """A registered ensemble as GlassBench scores it: its columns of the recomputed descriptor grid (by name, in its
    own order), the particle types it predicts and the subsets its rows get."""

    label: str
    ensemble: PropensityEnsemble
    columns: list[int]
    types: tuple[int, ...]
    subsets: tuple[str, ...]

    @classmethod
    def of(cls, label: str, ensemble: PropensityEnsemble, grid: Sequence[str], n_types: int) -> ScoredModel:
        """Raises ``ValueError`` naming ``label`` and the feature names ``grid`` lacks."""
        types = model_particle_types(ensemble, n_types)
        columns = feature_columns(grid, ensemble.input_names, label)  # the model reads its input columns
        return cls(label, ensemble, columns, types, score_subsets(types, n_types))

    def rows(self, types: np.ndarray) -> np.ndarray:
        """(n,) bool: the particles of the types this model predicts."""
        return np.isin(types, self.types)


@dataclass(frozen=True)
class GlassBenchTime:
    """The particles of every structure present at one GlassBench time, in (sample, particle) order."""

    time: float
    x: np.ndarray  # (n, M) recomputed descriptor grid
    y: np.ndarray  # (n,) ⟨C_B^i⟩, NaN without bonds
    sample: np.ndarray
    types: np.ndarray

    @property
    def measured_cb(self) -> float:
        """The mean label over every labelled particle (all types)."""
        return self.measured_cb_of(None)

    def measured_cb_of(self, types: Sequence[int] | None) -> float:
        """The mean label over the labelled particles of ``types`` (None: all): the state point's ⟨C_B⟩ as the
        platform defines it for a model of those types ([J]: type A)."""
        y = self.y if types is None else self.y[np.isin(self.types, types)]
        return float(np.nanmean(y)) if np.isfinite(y).any() else float("nan")


def glassbench_times(labels: pl.DataFrame, features: dict[int, np.ndarray]) -> list[GlassBenchTime]:
    """One :class:`GlassBenchTime` per time of ``glassbench_labels`` rows, with ``features`` (sample → (N, M)) of
    the structures present at that time (structures may have different time sets)."""
    out = []
    for (time_value,), rows in labels.sort("time", "sample", "particle").group_by(["time"], maintain_order=True):
        x = np.concatenate([features[s] for s in rows["sample"].unique(maintain_order=True).to_list()])
        y = rows["propensity"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out.append(GlassBenchTime(float(time_value), x, y, rows["sample"].to_numpy(), rows["type"].to_numpy()))
    return out


def predict_tglassmlp(
    model: ScoredModel, data: GlassBenchTime, temperature: float, training: MLPTrainingSettings
) -> tuple[np.ndarray | None, dict[str, object], str | None]:
    """(n,) tGlassMLP prediction at (T, measured ⟨C_B⟩) [J], NaN on the types the model does not predict; the state
    point's record; and why it could not predict (``None`` when it did).

    The iteration target is the measured mean label of the particles the model predicts (⟨C_B⟩ itself for a model
    of every type), so a type-A model is iterated until its type-A mean matches the measured type-A mean.
    """
    rows = model.rows(data.types)
    labelled = data.y[rows][np.isfinite(data.y[rows])]
    requested = float(labelled.mean()) if labelled.size else float("nan")
    point: dict[str, object] = {
        "time": data.time,
        "measured_cb": data.measured_cb,
        "requested_cb": requested if np.isfinite(requested) else None,
        "predicted_cb": None,
        "iterations": None,
        "n_structures": len(np.unique(data.sample)),
        "types_predicted": "".join("ABC"[t] if t < 3 else f"[{t}]" for t in model.types),
    }
    if not 0 < requested <= 1:  # NaN too: no labelled particle of the model's types
        return None, point, f"not predicted: measured ⟨C_B⟩ of the model's particle types is {requested:g}"
    result = model.ensemble.predict(
        data.x[np.ix_(rows, model.columns)],
        data.types[rows],
        temperature,
        requested,
        training.max_iterations,
        training.tolerance,
    )
    prediction = np.full(len(data.y), np.nan)
    prediction[rows] = np.asarray(result.mean, dtype=np.float64)
    point.update(predicted_cb=float(result.achieved_cb), iterations=int(result.iterations))
    return prediction, point, None


def predict_glassmlp(model: ScoredModel, data: GlassBenchTime) -> np.ndarray:
    """(n,) GlassMLP prediction [G] on the types the model predicts, NaN elsewhere."""
    rows = model.rows(data.types)
    prediction = np.full(len(data.y), np.nan)
    prediction[rows] = model.ensemble.predict(data.x[np.ix_(rows, model.columns)], data.types[rows])[0]
    return prediction
