"""GlassBench files → structures and warehouse rows (``samples``/``particles``, ``glassbench_labels``).

A folder may hold one structure at several times (GlassBench's ``…_151_tc05`` … ``…_151_tc40``): files whose
thermal start configurations are identical are one structure, one ``sample`` id (in order of the sorted file
names), with one label row set per time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from glass_core.dynamics.glassbench import GlassBenchFormatError, GlassBenchSample
from glass_core.models.configuration import Configuration

__all__ = ["GLASSBENCH", "GLASSBENCH_INHERENT", "Structure", "group_structures", "label_rows"]

#: ensemble names of the GlassBench configurations in ``samples``/``particles``
GLASSBENCH = "glassbench"
GLASSBENCH_INHERENT = "glassbench_inherent"


@dataclass
class Structure:
    """One GlassBench structure: its thermal start, its inherent structure (``None`` until minimised where the
    files have none) and the files (one per time) that hold its replicas."""

    sample: int
    equilibrium: Configuration
    inherent: Configuration | None
    files: list[GlassBenchSample] = field(default_factory=list)


def _fingerprint(config: Configuration) -> str:
    digest = hashlib.sha256(np.round(config.positions, 9).tobytes())
    digest.update(config.types.astype(np.int64).tobytes())
    return digest.hexdigest()


def group_structures(samples: list[GlassBenchSample]) -> list[Structure]:
    """Structures of ``samples`` (files), numbered in order of first appearance; a clear error when a file has
    no known time or when two files hold the same structure at the same time with different replicas (an exact
    copy is read once)."""
    by_key: dict[str, Structure] = {}
    for sample in samples:
        if sample.time is None:
            raise GlassBenchFormatError(
                f"{sample.source}: no known GlassBench time code (…_tcNN in 'first_npz_member' or the file name)"
            )
        key = _fingerprint(sample.equilibrium)
        structure = by_key.setdefault(key, Structure(len(by_key), sample.equilibrium, sample.inherent))
        twin = next((f for f in structure.files if f.time == sample.time), None)
        if twin is not None and np.array_equal(twin.replica_positions, sample.replica_positions):
            continue  # the same member twice (e.g. the cache's '…first_npz…' copy of a '…_tcNN…' file): read once
        if twin is not None:
            raise GlassBenchFormatError(
                f"{sample.source} and {twin.source} hold the same structure at the same time t = {sample.time}"
            )
        structure.inherent = structure.inherent if structure.inherent is not None else sample.inherent
        structure.files.append(sample)
    return list(by_key.values())


def label_rows(system: str, temperature: float, structure: Structure, labels: dict[float, np.ndarray]) -> pl.DataFrame:
    """``glassbench_labels`` rows of one structure: ``labels`` maps time → (N,) ⟨C_B^i⟩ (NaN → NULL)."""
    frames = []
    sources = {f.time: f for f in structure.files}
    types = structure.equilibrium.types.astype(np.int8)
    for time, values in sorted(labels.items()):
        n = len(values)
        frames.append(
            pl.DataFrame(
                {
                    "system": [system] * n,
                    "temperature": [temperature] * n,
                    "sample": [structure.sample] * n,
                    "particle": np.arange(n, dtype=np.int32),
                    "type": types,
                    "time": [float(time)] * n,
                    "propensity": pl.Series(values, dtype=pl.Float64).fill_nan(None),
                    "mean_bond_breaking": [float(np.nanmean(values))] * n,
                    "n_replicas": [sources[time].n_replicas] * n,
                    "source": [sources[time].source] * n,
                }
            )
        )
    return pl.concat(frames)
