"""The warehouse rows a network trains, validates and tests on, as MLflow datasets of its training run.

Each split is logged with :func:`mlflow.log_input` under the context ``training``, ``validation`` or ``test``, so
a registered model version's run names the exact rows behind it:

- the dataset's **digest** is the warehouse's own row-set digest (:data:`glass_assets.warehouse.HASH_METHOD`: the
  row count and the order-free sum of DuckDB row hashes of the columns, ``<rows>:<16 hex digits>``), computed by
  DuckDB over the split's frame — the same number the warehouse gives for the same rows, so anyone can check it
  against the DuckDB file;
- its **source** (:class:`WarehouseDatasetSource`, type ``duckdb_warehouse``) is the DuckDB file and the SQL query
  that selects those rows from it, columns in the frame's order (``WarehouseDatasetSource.load()`` runs it);
- its schema and profile (rows, elements) are MLflow's, from the frame.

The propensity networks' splits are built by :func:`glass_assets.propensity_learning.datasets.split_rows`, the
CNNs' image sets by :func:`image_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import mlflow
import numpy as np
import polars as pl
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import register_dataset_source

from glass_assets.tables import QUENCHED
from glass_assets.warehouse import HASH_METHOD, Warehouse, format_digest
from glass_core.learning.cnn import GLASS, LIQUID, DataSplit

__all__ = [
    "CONTEXTS",
    "WarehouseDatasetSource",
    "configurations_condition",
    "frame_digest",
    "image_rows",
    "log_training_datasets",
    "sql_double",
    "sql_text",
]

#: the contexts of a training run's inputs, in the order of :class:`glass_core.learning.cnn.DataSplit`
CONTEXTS = ("training", "validation", "test")
#: the name of each CNN class in an image set's ``label`` column
LABEL_NAMES = {LIQUID: "liquid", GLASS: "glass"}


class WarehouseDatasetSource(DatasetSource):
    """Rows of the platform's DuckDB warehouse: the database file and the SQL query that selects them."""

    def __init__(self, path: str, query: str) -> None:
        self.path = path
        self.query = query

    @staticmethod
    def _get_source_type() -> str:
        return "duckdb_warehouse"

    def load(self) -> pl.DataFrame:
        """The rows, read from the warehouse now."""
        return Warehouse(self.path).query(self.query)

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # built explicitly, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> WarehouseDatasetSource:
        raise NotImplementedError("a WarehouseDatasetSource is built from a path and a query")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "query": self.query}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> WarehouseDatasetSource:
        return cls(source_dict["path"], source_dict["query"])


register_dataset_source(WarehouseDatasetSource)  # so that mlflow.data.get_source() reads a logged one back


def frame_digest(frame: pl.DataFrame) -> str:
    """The warehouse's row-set digest of ``frame``'s rows (module doc): DuckDB's expression of
    :meth:`Warehouse._digest_expression` over the frame registered in an in-memory database. Equal to the digest
    of the same rows read from the warehouse when the columns have the warehouse's types and order."""
    con = duckdb.connect()
    try:
        con.register("split_rows", frame.to_arrow())
        expression = Warehouse._digest_expression(con, "split_rows")
        rows, total = con.execute(f"SELECT {expression} FROM split_rows").fetchone()
    finally:
        con.close()
    return format_digest(rows, total)


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_double(value: float) -> str:
    """A SQL DOUBLE literal equal to ``value`` (parsed from its shortest repr, never through a DECIMAL)."""
    return f"{sql_text(repr(float(value)))}::DOUBLE"


def configurations_condition(keys: Sequence[tuple[float, int]], prefix: str = "") -> str:
    """SQL condition of the rows of the configurations ``keys`` ((temperature, sample) pairs); ``prefix``: the
    columns' table alias with its dot (``"l."``)."""
    samples: dict[float, set[int]] = {}
    for temperature, sample in keys:
        samples.setdefault(float(temperature), set()).add(int(sample))
    if not samples:
        return "FALSE"
    parts = [
        f"({prefix}temperature = {sql_double(t)} AND {prefix}sample IN ({', '.join(map(str, sorted(s)))}))"
        for t, s in sorted(samples.items())
    ]
    return "(" + " OR ".join(parts) + ")"


def log_training_datasets(
    frames: Mapping[str, pl.DataFrame],
    *,
    name: str,
    source: str | Path,
    queries: Mapping[str, str],
    targets: str | None = None,
) -> dict[str, str]:
    """Log each split's rows (context → frame) as an input of the active run, context ``training``, ``validation``
    or ``test``, named ``<name>-<context>``, digest :func:`frame_digest`, source the warehouse file ``source`` and
    the split's query (context → SQL); returns context → digest."""
    path = str(Path(source).resolve())
    digests = {}
    for context, frame in frames.items():
        digests[context] = frame_digest(frame)
        dataset = mlflow.data.from_polars(
            frame,
            source=WarehouseDatasetSource(path, queries[context]),
            targets=targets,
            name=f"{name}-{context}",
            digest=digests[context],
        )
        mlflow.log_input(dataset, context=context, tags={"digest_method": HASH_METHOD})
    return digests


def image_rows(
    system: str,
    keys: Sequence[tuple[float, int]],
    labels: np.ndarray,
    split: DataSplit,
    ensemble: str = QUENCHED,
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """(context → frame, context → query) of a liquid/glass CNN's images: one row per configuration (system,
    temperature, ensemble, sample, label 'liquid'/'glass') of each split of ``keys`` (the (temperature, sample) of
    each image) and the ``samples`` query that gives the same rows."""
    label_of = {float(t): LABEL_NAMES[int(label)] for (t, _), label in zip(keys, labels, strict=True)}
    case = " ".join(f"WHEN temperature = {sql_double(t)} THEN {sql_text(n)}" for t, n in sorted(label_of.items()))
    frames, queries = {}, {}
    for context, rows in zip(CONTEXTS, (split.train, split.validation, split.test), strict=True):
        chosen = [keys[int(i)] for i in rows]
        frames[context] = pl.DataFrame(
            {
                "system": [system] * len(chosen),
                "temperature": [float(t) for t, _ in chosen],
                "ensemble": [ensemble] * len(chosen),
                "sample": [int(s) for _, s in chosen],
                "label": [label_of[float(t)] for t, _ in chosen],
            },
            schema={"system": pl.String, "temperature": pl.Float64, "ensemble": pl.String, "sample": pl.Int32,
                    "label": pl.String},
        )
        queries[context] = (
            f"SELECT system, temperature, ensemble, sample, CASE {case} END AS label FROM samples "
            f"WHERE system = {sql_text(system)} AND ensemble = {sql_text(ensemble)} "
            f"AND {configurations_condition(chosen)}"
        )
    return frames, queries
