"""Training and prediction data of the propensity networks, assembled from the warehouse tables."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from glass_assets.propensity_learning.tables import feature_matrix, load_descriptors, load_state_point_labels
from glass_assets.registry.training_datasets import configurations_condition, log_training_datasets, sql_text
from glass_assets.tables import INHERENT
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.learning.mlp_data import PropensityDataset, concatenate

__all__ = ["SPLIT_COLUMNS", "StudyData", "descriptor_dataset", "distillation_rows", "log_split_datasets",
           "split_rows", "study_data"]


@dataclass(frozen=True)
class StudyData:
    """Labelled rows (every reached state point), the rows to distil, the feature names, which (temperature,
    sample) each configuration id is, every state point the campaign asks about, and a hash of the arrays.

    ``unlabelled``: the configurations of the labelled temperatures at the targets their MD did not reach
    ([J]'s distillation; with the profile's ``distillation: every_temperature`` also the swap-MC temperatures
    without MD); None when there is nothing to distil.
    """

    labelled: PropensityDataset
    unlabelled: PropensityDataset | None
    feature_names: list[str]
    configurations: list[tuple[float, int]]
    fingerprint: str
    particles: np.ndarray  # (n,) particle id of each labelled row
    requested_state_points: np.ndarray  # (k, 2) every (T, ⟨C_B⟩) of the campaign's temperatures × targets
    halves: np.ndarray | None = None  # (n, 2) even/odd-replica labels of each labelled row (NaN: one replica)
    propensity: np.ndarray | None = None  # (n,) the warehouse's float64 label of each labelled row

    def lineage(self) -> dict[str, object]:
        return {
            "rows_labelled": len(self.labelled),
            "rows_unlabelled": 0 if self.unlabelled is None else len(self.unlabelled),
            "n_configurations": len(self.configurations),
            "data_sha256": self.fingerprint,
        }


def _fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def descriptor_dataset(
    rows: pl.DataFrame,
    names: list[str],
    ids: dict[tuple[float, int], int],
    target_cb: float | np.ndarray,
    labels: np.ndarray | None = None,
) -> PropensityDataset:
    """Dataset of descriptor table rows at the state point(s) ``target_cb`` (one value, or one per row), labelled
    or not; configuration ids from ``ids``; positions and box where the rows carry ``x``, ``y``, ``box_x``,
    ``box_y``."""
    configuration = np.array(
        [ids[(t, s)] for t, s in zip(rows["temperature"].to_list(), rows["sample"].to_list(), strict=True)]
    )
    positions = box = None
    if "x" in rows.columns:
        positions = rows.select("x", "y").to_numpy()
        box = rows.select("box_x", "box_y").to_numpy()
    return PropensityDataset(
        features=feature_matrix(rows, len(names)),
        types=rows["type"].to_numpy(),
        configuration=configuration,
        temperature=rows["temperature"].to_numpy(),
        target_cb=np.broadcast_to(np.asarray(target_cb, dtype=np.float64), (rows.height,)),
        labels=labels,
        positions=positions,
        box=box,
    )


def _with_positions(store: Warehouse, system: str, descriptors: pl.DataFrame) -> pl.DataFrame:
    """Descriptor rows joined with their inherent structure's particle positions and box (for the loss's
    spatial-correlation term); a clear error where a configuration's particles are missing."""
    frames = []
    for temperature in descriptors["temperature"].unique().to_list():
        key = ensemble_key(system, temperature, INHERENT)
        particles = store.read_partition("particles", key).select("temperature", "sample", "particle", "x", "y")
        boxes = store.read_partition("samples", key).select("temperature", "sample", "box_x", "box_y")
        frames.append(particles.join(boxes, on=["temperature", "sample"], how="inner"))
    positions = pl.concat(frames) if frames else None
    joined = descriptors.join(positions, on=["temperature", "sample", "particle"], how="left")
    missing = joined.filter(pl.col("x").is_null())
    if missing.height:
        where = missing.select("temperature", "sample").unique().sort("temperature", "sample").rows()[:5]
        raise WarehouseError(
            f"{system}: no inherent-structure positions for {missing.height} descriptor rows (e.g. (T, sample) "
            f"{where}): re-materialize inherent_structures and mlp_descriptors"
        )
    return joined


def distillation_rows(
    descriptors: pl.DataFrame,
    labels: pl.DataFrame,
    labelled: list[float],
    unlabelled: list[float],
    targets: list[float],
    distillation: str,
) -> list[tuple[pl.DataFrame, float]]:
    """(descriptor rows, target ⟨C_B⟩) to distil ([J]): each labelled temperature's configurations at the targets
    its labels lack; with ``every_temperature`` also every target at the ``unlabelled`` temperatures."""
    if distillation == "none":
        return []
    parts = []
    for temperature in labelled:
        reached = set(labels.filter(pl.col("temperature") == temperature)["target_cb"].to_list())
        rows = descriptors.filter(pl.col("temperature") == temperature)
        parts += [(rows, target) for target in targets if target not in reached]
    if distillation == "every_temperature":
        for temperature in unlabelled:
            rows = descriptors.filter(pl.col("temperature") == temperature)
            parts += [(rows, target) for target in targets]
    return [(rows, target) for rows, target in parts if rows.height]


def study_data(
    store: Warehouse,
    system: str,
    labelled: list[float],
    unlabelled: list[float],
    targets: list[float],
    distillation: str = "labelled_temperatures",
) -> StudyData:
    """Descriptors (with inherent-structure positions) joined with state-point labels at the ``labelled``
    temperatures (particles without bonds carry no label and are left out), and the rows to distil
    (:func:`distillation_rows`)."""
    if not labelled:
        raise WarehouseError(f"no labelled temperature for {system}: add propensity temperatures to the campaign")
    temperatures = sorted(set(labelled) | (set(unlabelled) if distillation == "every_temperature" else set()))
    descriptors, names = load_descriptors(store, system, temperatures)
    descriptors = _with_positions(store, system, descriptors)
    keys = descriptors.select("temperature", "sample").unique().sort(["temperature", "sample"])
    configurations = [(float(t), int(s)) for t, s in keys.iter_rows()]
    ids = {key: i for i, key in enumerate(configurations)}
    labels = load_state_point_labels(store, system, labelled).filter(pl.col("propensity").is_not_null())
    if "propensity_half_a" not in labels.columns:
        labels = labels.with_columns(propensity_half_a=pl.lit(None, pl.Float64),
                                     propensity_half_b=pl.lit(None, pl.Float64))
    joined = labels.join(
        descriptors.select("temperature", "sample", "particle", "features", "x", "y", "box_x", "box_y"),
        on=["temperature", "sample", "particle"],
        how="inner",
    ).sort(["temperature", "target_cb", "sample", "particle"])
    if joined.height == 0:
        raise WarehouseError(f"state-point labels of {system} match no descriptor rows (different samples?)")
    labelled_set = descriptor_dataset(
        joined, names, ids, joined["target_cb"].to_numpy(), joined["propensity"].to_numpy()
    )
    ordered = descriptors.sort(["temperature", "sample", "particle"])
    parts = distillation_rows(ordered, labels, labelled, unlabelled, targets, distillation)
    unlabelled_set = concatenate([descriptor_dataset(rows, names, ids, t) for rows, t in parts]) if parts else None
    requested = np.array([(t, c) for t in sorted(set(labelled) | set(unlabelled)) for c in targets], np.float64)
    fingerprint = _fingerprint(labelled_set.features, labelled_set.labels, labelled_set.target_cb)
    halves = joined.select("propensity_half_a", "propensity_half_b").cast(pl.Float64).fill_null(np.nan).to_numpy()
    return StudyData(labelled_set, unlabelled_set, names, configurations, fingerprint, joined["particle"].to_numpy(),
                     requested.reshape(-1, 2), halves, joined["propensity"].to_numpy())


#: a training split's rows (:func:`split_rows`): the keys, the descriptors and the label, in the warehouse's types
SPLIT_COLUMNS: dict[str, pl.DataType] = {
    "system": pl.String(), "temperature": pl.Float64(), "target_cb": pl.Float64(), "sample": pl.Int32(),
    "particle": pl.Int32(), "type": pl.Int8(), "features": pl.List(pl.Float32()), "propensity": pl.Float64(),
}  # fmt: skip


def split_rows(data: StudyData, system: str, dataset: PropensityDataset) -> tuple[pl.DataFrame, str]:
    """(rows, query) of a split of the labelled rows: ``dataset`` holds whole configurations of ``data.labelled``
    (every state point) and some particle types, as the networks' splits do; its rows are those of ``data`` with
    the same configurations and types, as :data:`SPLIT_COLUMNS` (``state_point_labels`` ⋈ ``mlp_descriptors``),
    and ``query`` selects the same rows from the warehouse."""
    configurations, types = np.unique(dataset.configuration), np.unique(dataset.types)
    rows = np.isin(data.labelled.configuration, configurations) & np.isin(data.labelled.types, types)
    if int(rows.sum()) != len(dataset) or data.propensity is None:
        raise ValueError(
            f"the split's {len(dataset)} rows are not the {int(rows.sum())} labelled rows of its configurations and "
            "types (or the study data carry no warehouse labels)"
        )
    keys = [data.configurations[c] for c in configurations.tolist()]
    sample_of = dict(zip(configurations.tolist(), (s for _, s in keys), strict=True))
    frame = pl.DataFrame(
        {
            "system": [system] * int(rows.sum()),
            "temperature": data.labelled.temperature[rows],
            "target_cb": data.labelled.target_cb[rows],
            "sample": [sample_of[c] for c in data.labelled.configuration[rows].tolist()],
            "particle": data.particles[rows],
            "type": data.labelled.types[rows],
            "features": pl.Series(data.labelled.features[rows]).cast(pl.List(pl.Float32)),
            "propensity": data.propensity[rows],
        }
    ).cast(SPLIT_COLUMNS)
    chosen_types = f"l.type IN ({', '.join(str(int(t)) for t in types)})" if len(types) else "FALSE"
    query = (
        "SELECT l.system, l.temperature, l.target_cb, l.sample, l.particle, l.type, d.features, l.propensity "
        "FROM state_point_labels AS l JOIN mlp_descriptors AS d ON d.system = l.system AND d.temperature = "
        "l.temperature AND d.sample = l.sample AND d.particle = l.particle "
        f"WHERE l.system = {sql_text(system)} AND l.propensity IS NOT NULL "
        f"AND {chosen_types} AND {configurations_condition(keys, 'l.')}"
    )
    return frame, query


def log_split_datasets(
    warehouse: str | Path, system: str, data: StudyData, splits: Mapping[str, PropensityDataset]
) -> dict[str, str]:
    """Log the rows of each split (context ``training``/``validation``/``test`` → dataset, :func:`split_rows`) as
    inputs of the active MLflow run, datasets ``propensity_rows_<system>-<context>`` of the warehouse file
    ``warehouse`` (:func:`glass_assets.registry.training_datasets.log_training_datasets`); returns context → digest."""
    built = {context: split_rows(data, system, dataset) for context, dataset in splits.items()}
    return log_training_datasets(
        {context: frame for context, (frame, _) in built.items()},
        name=f"propensity_rows_{system}",
        source=warehouse,
        queries={context: query for context, (_, query) in built.items()},
        targets="propensity",
    )
