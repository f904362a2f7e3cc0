"""The crafted held-out-temperature study [J] as the warehouse rows the ``transferability`` asset reads: the
propensity is a known smooth function of one descriptor and of T (:func:`tests.helpers.mlp_datasets.crafted`)."""

import numpy as np
import polars as pl

from glass_assets.warehouse import Warehouse
from tests.helpers.mlp_datasets import SIDE, crafted

SYSTEM = "ka2d_ternary"
TEMPERATURES = (0.7, 0.6, 0.5)
TARGETS = (0.8, 0.6)
NAMES = ["EPOT_all_L0", "DEN_A_L1", "PERI_all_L2"]


def write_study(store: Warehouse) -> None:
    """Descriptors, inherent-structure positions and state-point labels of 10 configurations per temperature."""
    data = crafted(list(TEMPERATURES), list(TARGETS), 10, seed=5)
    n = SIDE * SIDE
    for temperature in TEMPERATURES:
        at = data.subset(np.isclose(data.temperature, temperature))
        configurations = np.unique(at.configuration)
        first = at.subset(np.isclose(at.target_cb, TARGETS[0]))
        sample = np.searchsorted(configurations, first.configuration)
        particle = np.tile(np.arange(n, dtype=np.int32), len(configurations))
        key = {"system": SYSTEM, "temperature": temperature}
        descriptors = pl.DataFrame({
            "system": SYSTEM, "temperature": temperature, "ensemble": "inherent", "sample": sample.astype(np.int32),
            "particle": particle, "type": first.types.astype(np.int8),
            "features": pl.Series(first.features.astype(np.float32)).cast(pl.List(pl.Float32))})
        names = pl.DataFrame({"system": SYSTEM, "temperature": temperature, "position": np.arange(3, dtype=np.int32),
                              "name": NAMES, "observable": ["EPOT", "DEN", "PERI"], "channel": ["all", "A", "all"],
                              "length": [0.0, 1.0, 2.0]})
        particles = pl.DataFrame({"system": SYSTEM, "temperature": temperature, "ensemble": "inherent",
                                  "sample": sample.astype(np.int32), "particle": particle,
                                  "type": first.types.astype(np.int8), "x": first.positions[:, 0],
                                  "y": first.positions[:, 1]})
        samples = pl.DataFrame({"system": SYSTEM, "temperature": temperature, "ensemble": "inherent",
                                "sample": np.arange(len(configurations), dtype=np.int32), "seed": 0, "n_particles": n,
                                "box_x": float(SIDE), "box_y": float(SIDE), "potential_energy": -1.0,
                                "energy_per_particle": -1.0 / n})
        labels = pl.DataFrame({"system": SYSTEM, "temperature": temperature, "target_cb": at.target_cb,
                               "sample": np.searchsorted(configurations, at.configuration).astype(np.int32),
                               "particle": np.tile(particle, len(TARGETS)), "type": at.types.astype(np.int8),
                               "time": 10.0, "propensity": at.labels.astype(np.float64)})
        store.replace_partition(key, {"mlp_descriptors": descriptors, "mlp_feature_names": names,
                                      "state_point_labels": labels})
        store.replace_partition({**key, "ensemble": "inherent"}, {"samples": samples, "particles": particles})
