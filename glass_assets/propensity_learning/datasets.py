"""Training and prediction data of the propensity networks, assembled from the warehouse tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from glass_assets.propensity_learning.tables import feature_matrix, load_descriptors, load_state_point_labels
from glass_assets.warehouse import Warehouse, WarehouseError
from glass_core.learning.mlp_data import PropensityDataset, concatenate

__all__ = ["StudyData", "descriptor_dataset", "study_data"]


@dataclass(frozen=True)
class StudyData:
    """Labelled rows (every reached state point), unlabelled rows (lower temperatures × each target ⟨C_B⟩),
    the feature names, which (temperature, sample) each configuration id is, and a hash of the arrays."""

    labelled: PropensityDataset
    unlabelled: PropensityDataset | None
    feature_names: list[str]
    configurations: list[tuple[float, int]]
    fingerprint: str
    particles: np.ndarray  # (n,) particle id of each labelled row

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
    or not; configuration ids from ``ids``."""
    configuration = np.array(
        [ids[(t, s)] for t, s in zip(rows["temperature"].to_list(), rows["sample"].to_list(), strict=True)]
    )
    return PropensityDataset(
        features=feature_matrix(rows, len(names)),
        types=rows["type"].to_numpy(),
        configuration=configuration,
        temperature=rows["temperature"].to_numpy(),
        target_cb=np.broadcast_to(np.asarray(target_cb, dtype=np.float64), (rows.height,)),
        labels=labels,
    )


def study_data(
    store: Warehouse, system: str, labelled: list[float], unlabelled: list[float], targets: list[float]
) -> StudyData:
    """Descriptors joined with state-point labels at the ``labelled`` temperatures (particles without bonds
    carry no label and are left out), and descriptors × ``targets`` at the ``unlabelled`` ones."""
    if not labelled:
        raise WarehouseError(f"no labelled temperature for {system}: add propensity temperatures to the campaign")
    descriptors, names = load_descriptors(store, system, sorted(set(labelled) | set(unlabelled)))
    keys = descriptors.select("temperature", "sample").unique().sort(["temperature", "sample"])
    configurations = [(float(t), int(s)) for t, s in keys.iter_rows()]
    ids = {key: i for i, key in enumerate(configurations)}
    labels = load_state_point_labels(store, system, labelled).filter(pl.col("propensity").is_not_null())
    joined = labels.join(
        descriptors.select("temperature", "sample", "particle", "features"),
        on=["temperature", "sample", "particle"],
        how="inner",
    ).sort(["temperature", "target_cb", "sample", "particle"])
    if joined.height == 0:
        raise WarehouseError(f"state-point labels of {system} match no descriptor rows (different samples?)")
    labelled_set = descriptor_dataset(
        joined, names, ids, joined["target_cb"].to_numpy(), joined["propensity"].to_numpy()
    )
    lower = descriptors.filter(pl.col("temperature").is_in(unlabelled)).sort(["temperature", "sample", "particle"])
    unlabelled_set = None
    if lower.height:
        unlabelled_set = concatenate([descriptor_dataset(lower, names, ids, t) for t in targets])
    fingerprint = _fingerprint(labelled_set.features, labelled_set.labels, labelled_set.target_cb)
    return StudyData(labelled_set, unlabelled_set, names, configurations, fingerprint, joined["particle"].to_numpy())
