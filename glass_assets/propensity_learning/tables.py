"""Warehouse rows of the propensity-learning study, and the loaders that turn them back into arrays."""

from __future__ import annotations

import numpy as np
import polars as pl

from glass_assets.tables import INHERENT
from glass_assets.warehouse import Warehouse, WarehouseError
from glass_core.dynamics.state_points import StatePointLabels
from glass_core.structure.physics_descriptors import parse_feature_name

__all__ = [
    "descriptor_rows",
    "feature_matrix",
    "feature_name_rows",
    "load_descriptors",
    "load_state_point_labels",
    "state_point_rows",
]


def descriptor_rows(
    system: str, temperature: float, sample: int, types: np.ndarray, features: np.ndarray
) -> pl.DataFrame:
    """``mlp_descriptors`` rows of one configuration: (N, M) features as one FLOAT[M] list per particle."""
    n = len(types)
    return pl.DataFrame(
        {
            "system": [system] * n,
            "temperature": [temperature] * n,
            "ensemble": [INHERENT] * n,
            "sample": [sample] * n,
            "particle": np.arange(n, dtype=np.int32),
            "type": types.astype(np.int8),
            "features": pl.Series(features.astype(np.float32)).cast(pl.List(pl.Float32)),
        }
    )


def feature_name_rows(system: str, temperature: float, names: list[str]) -> pl.DataFrame:
    """``mlp_feature_names`` rows: each name 'OBS_CHANNEL_L<length>' split into its parts."""
    parts = [parse_feature_name(name) for name in names]
    return pl.DataFrame(
        {
            "system": [system] * len(names),
            "temperature": [temperature] * len(names),
            "position": np.arange(len(names), dtype=np.int32),
            "name": names,
            "observable": [p[0] for p in parts],
            "channel": [p[1] for p in parts],
            "length": [p[2] for p in parts],
        }
    )


def state_point_rows(
    system: str, temperature: float, types: dict[int, np.ndarray], points: list[StatePointLabels], n_replicas: int,
    particle_type: str = "all",
) -> dict[str, pl.DataFrame]:
    """``state_point_labels`` and ``state_points`` rows of one labelled temperature (``particle_type``: the
    particles whose mean ⟨C_B⟩ defines the state points)."""
    labels, summary = [], []
    for point in points:
        for sample, values in sorted(point.labels.items()):
            n = len(values)
            labels.append(
                pl.DataFrame(
                    {
                        "system": [system] * n,
                        "temperature": [temperature] * n,
                        "target_cb": [point.target] * n,
                        "sample": [sample] * n,
                        "particle": np.arange(n, dtype=np.int32),
                        "type": types[sample].astype(np.int8),
                        "time": [point.time] * n,
                        "propensity": pl.Series(values, dtype=pl.Float64).fill_nan(None),
                        "propensity_half_a": pl.Series(point.halves[sample][0], dtype=pl.Float64).fill_nan(None),
                        "propensity_half_b": pl.Series(point.halves[sample][1], dtype=pl.Float64).fill_nan(None),
                    }
                )
            )
        summary.append(
            {
                "system": system,
                "temperature": temperature,
                "target_cb": point.target,
                "time": point.time,
                "mean_bond_breaking": point.mean_bond_breaking,
                "n_configurations": len(point.labels),
                "n_replicas": n_replicas,
                "split_half_r": None if np.isnan(point.split_half_r) else point.split_half_r,
                "ceiling": None if np.isnan(point.ceiling) else point.ceiling,
                "particle_type": particle_type,
            }
        )
    if not labels:
        return {"state_point_labels": pl.DataFrame(), "state_points": pl.DataFrame()}
    return {"state_point_labels": pl.concat(labels), "state_points": pl.DataFrame(summary)}


def load_descriptors(store: Warehouse, system: str, temperatures: list[float]) -> tuple[pl.DataFrame, list[str]]:
    """Descriptor rows (system, temperature, sample, particle, type, features) of ``temperatures`` and the
    feature names they share; clear errors for a missing partition or differing feature lists."""
    names: list[str] | None = None
    frames = []
    for temperature in temperatures:
        key = {"system": system, "temperature": temperature}
        these = store.read_partition("mlp_feature_names", key).sort("position")["name"].to_list()
        if not these:
            raise WarehouseError(f"no mlp_descriptors for {system} at T={temperature}: materialize them first")
        if names is not None and these != names:
            raise WarehouseError(
                f"mlp_descriptors of {system} at T={temperature} have other features than the other temperatures: "
                "re-materialize them with the same profile"
            )
        names = these
        frames.append(store.read_partition("mlp_descriptors", key))
    return pl.concat(frames), names or []


def load_state_point_labels(store: Warehouse, system: str, temperatures: list[float]) -> pl.DataFrame:
    """``state_point_labels`` rows of ``temperatures``; a clear error where a temperature has none."""
    frames = []
    for temperature in temperatures:
        rows = store.read_partition("state_point_labels", {"system": system, "temperature": temperature})
        if rows.height == 0:
            raise WarehouseError(f"no state-point labels for {system} at T={temperature}: materialize them first")
        frames.append(rows)
    return pl.concat(frames)


def feature_matrix(rows: pl.DataFrame, n_features: int) -> np.ndarray:
    """(n, M) float32 features of descriptor rows."""
    if rows.height == 0:
        return np.zeros((0, n_features), np.float32)
    return rows["features"].list.to_array(n_features).to_numpy().astype(np.float32, copy=False)
