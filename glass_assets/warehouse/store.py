"""The :class:`Warehouse`: locked access to the DuckDB file, one-transaction partition writes, row-set digests, reads.

Every partition write records, in the same transaction, the ``row_sets`` record of each table's rows (count and
order-free content digest, :data:`HASH_METHOD`, and the write's provenance from :func:`glass_assets.provenance.
active_write`); :meth:`Warehouse.row_set_content` and :meth:`Warehouse.table_digests` read the digests back for the
audit and for reproducibility checks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import duckdb
import polars as pl

from glass_assets.provenance import VOLATILE_COLUMNS, active_write, row_key
from glass_assets.warehouse.migrations import ADDED_COLUMNS, NAN_TO_NULL_COLUMNS, RELAXED_COLUMNS
from glass_assets.warehouse.schema import BOOKKEEPING_TABLES, SCHEMA

__all__ = ["HASH_METHOD", "PartitionKey", "Warehouse", "WarehouseError", "ensemble_key", "format_digest"]


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened, written or read."""


#: how :attr:`row_sets.data_digest` is computed (DuckDB's row hash may change between DuckDB releases)
HASH_METHOD = f"duckdb-{duckdb.__version__}:count+sum(hash(data columns))"


def format_digest(rows: int, total: str | int) -> str:
    """``<rows>:<16 hex digits>``: the row count and the sum of row hashes modulo 2⁶⁴."""
    return f"{int(rows)}:{int(total) % 2**64:016x}"


def _overlapping(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """Whether two partition keys can match one row: equal on every column both name."""
    return all(a[c] == b[c] for c in set(a) & set(b))


PartitionKey = Mapping[str, object]  # column → value, e.g. {"system": "abm", "temperature": 0.05, ...}


def ensemble_key(system: str, temperature: float, ensemble: str) -> dict[str, object]:
    """The partition key of one (system, temperature) ensemble's rows."""
    return {"system": system, "temperature": float(temperature), "ensemble": ensemble}


class Warehouse:
    """A DuckDB database file with the platform's tables.

    ``before_commit`` (default none) is called inside every partition write's transaction, the rows deleted and
    inserted, before the commit: the crash tests inject a kill there (:class:`~glass_assets.resources.WarehouseResource`
    passes :func:`glass_assets.faults.armed_fault_hook`, ``None`` unless a test arms it)."""

    def __init__(self, path: str | os.PathLike[str], before_commit: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.before_commit = before_commit
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # ------------------------------------------------------------------ access
    def ensure_writable(self) -> None:
        """Create the folder, lock file and tables; raise :class:`WarehouseError` naming the problem."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked(exclusive=True), self._connect(read_only=False) as con:
                self._create_tables(con)
        except (OSError, duckdb.Error) as error:
            raise WarehouseError(f"warehouse {self.path} is not writable: {error}") from error

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            handle = open(self.lock_path, "a+")  # noqa: SIM115 - closed below
        except OSError as error:
            raise WarehouseError(f"cannot open the warehouse lock {self.lock_path}: {error}") from error
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    @contextlib.contextmanager
    def _connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @staticmethod
    def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
        for table, columns in SCHEMA.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        for table, column, sql_type in ADDED_COLUMNS:
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {sql_type}")
        for table, column in RELAXED_COLUMNS:
            nullable = con.execute(
                "SELECT is_nullable FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                [table, column],
            ).fetchone()
            if nullable and nullable[0] == "NO":
                con.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
        for table, column in NAN_TO_NULL_COLUMNS:
            con.execute(f"UPDATE {table} SET {column} = NULL WHERE isnan({column})")

    # ------------------------------------------------------------------ writes
    def replace_partition(self, key: PartitionKey, frames: Mapping[str, pl.DataFrame]) -> dict[str, int]:
        """Replace the rows matching ``key`` (column → value) in each table of ``frames``, in one transaction.

        Every frame must hold only rows of ``key``. Returns the number of rows written per table.
        """
        return self.replace_partitions([(key, frames)])

    def replace_partitions(self, writes: Sequence[tuple[PartitionKey, Mapping[str, pl.DataFrame]]]) -> dict[str, int]:
        """:meth:`replace_partition` for several (key, frames) pairs — e.g. tables keyed by different columns —
        in one transaction: all of them are written or none. Returns the rows written per table (summed)."""
        for key, frames in writes:
            for table, frame in frames.items():
                if table not in SCHEMA:
                    raise WarehouseError(f"unknown warehouse table {table!r}")
                for column, value in key.items():
                    if frame.height and not (frame[column] == value).all():
                        raise WarehouseError(f"{table}: rows outside partition {dict(key)} in column {column}")
        self.ensure_writable()
        written: dict[str, int] = {}
        recorded: list[dict[str, object]] = []
        with self._locked(exclusive=True), self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for key, frames in writes:
                    where = " AND ".join(f"{column} = ?" for column in key)
                    for table, frame in frames.items():
                        con.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))
                        if frame.height:
                            con.register("incoming", frame.to_arrow())
                            columns = ", ".join(frame.columns)
                            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
                            con.unregister("incoming")
                        written[table] = written.get(table, 0) + frame.height
                        recorded.append(self._record_row_set(con, table, key))
                if self.before_commit is not None:  # rows deleted and inserted, transaction not committed
                    self.before_commit()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        context = active_write()
        if context is not None:
            context.row_sets.extend(recorded)
        return written

    def record_compute_usage(self, rows: pl.DataFrame) -> int:
        """Replace the ``compute_usage`` rows of the asset partitions in ``rows`` (bookkeeping: no row set record,
        :mod:`glass_assets.compute_accounting`); returns the rows written."""
        self.ensure_writable()
        keys = rows.select("asset", "partition_key").unique().rows()
        with self._locked(exclusive=True), self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for asset, partition in keys:
                    con.execute("DELETE FROM compute_usage WHERE asset = ? AND partition_key = ?", [asset, partition])
                con.register("incoming", rows.to_arrow())
                columns = ", ".join(rows.columns)
                con.execute(f"INSERT INTO compute_usage ({columns}) SELECT {columns} FROM incoming")
                con.unregister("incoming")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return rows.height

    @staticmethod
    def _digest_expression(con: duckdb.DuckDBPyConnection, table: str) -> str:
        """SQL of the row set digest: row count and the sum of DuckDB row hashes of the data columns (order-free)."""
        columns = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if row[0] not in VOLATILE_COLUMNS
        ]
        return f"count(*), coalesce(sum(hash({', '.join(columns)})), 0)::VARCHAR"

    def _record_row_set(self, con: duckdb.DuckDBPyConnection, table: str, key: PartitionKey) -> dict[str, object]:
        """Write the ``row_sets`` record of the rows just written under ``key`` (inside the write's transaction)."""
        where = " AND ".join(f"{column} = ?" for column in key)
        rows, total = con.execute(
            f"SELECT {self._digest_expression(con, table)} FROM {table} WHERE {where}", list(key.values())
        ).fetchone()
        digest = format_digest(rows, total)
        text = row_key(key)
        context = active_write()
        (sequence,) = con.execute("SELECT coalesce(max(write_seq), 0) + 1 FROM row_sets").fetchone()
        con.execute("DELETE FROM row_sets WHERE table_name = ? AND row_key = ?", [table, text])
        con.execute(
            "INSERT INTO row_sets (table_name, row_key, asset, partition_key, n_rows, data_digest, hash_method, "
            "profile, settings_digest, settings, run_id, code_version, write_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                table,
                text,
                context.asset if context else None,
                context.partition if context else None,
                rows,
                digest,
                HASH_METHOD,
                context.profile if context else None,
                context.digest if context else None,
                json.dumps(context.settings, sort_keys=True) if context else None,
                context.run_id if context else None,
                context.code_version if context else None,
                sequence,
            ],
        )
        return {"table": table, "key": text, "rows": int(rows), "digest": digest}

    def row_set_records(self) -> dict[tuple[str, str], dict[str, object]]:
        """Every ``row_sets`` record, by (table, row key); empty for a warehouse without the table."""
        try:
            frame = self.query("SELECT * FROM row_sets")
        except (WarehouseError, duckdb.CatalogException):
            return {}
        return {(r["table_name"], r["row_key"]): r for r in frame.iter_rows(named=True)}

    def row_set_content(
        self,
        table: str,
        key: PartitionKey,
        deep: bool = True,
        records: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    ) -> tuple[int, str | None]:
        """(row count, content digest or ``None`` unless ``deep``) of the rows written under ``key`` into ``table``.

        Rows another row set wrote later under an overlapping key (e.g. GlassBench scores stored under a model
        version whose scores a training wrote first) belong to that row set and are left out. ``records``: the
        :meth:`row_set_records` already read (read here otherwise)."""
        text = row_key(key)
        every = records if records is not None else self.row_set_records()
        same_table = [r for (t, _), r in every.items() if t == table]
        own = next((r for r in same_table if r["row_key"] == text), None)
        later = [
            json.loads(r["row_key"])
            for r in same_table
            if own is not None and r["write_seq"] > own["write_seq"] and _overlapping(json.loads(r["row_key"]), key)
        ]
        where = " AND ".join(f"{column} = ?" for column in key)
        parameters = list(key.values())
        for other in later:
            where += " AND NOT (" + " AND ".join(f"{column} IS NOT DISTINCT FROM ?" for column in other) + ")"
            parameters += list(other.values())
        with self._locked(exclusive=False), self._connect(read_only=True) as con:
            expression = self._digest_expression(con, table) if deep else "count(*), NULL"
            rows, total = con.execute(f"SELECT {expression} FROM {table} WHERE {where}", parameters).fetchone()
        return int(rows), (format_digest(rows, total) if deep else None)

    def table_digests(self, tables: Sequence[str] | None = None) -> dict[str, str]:
        """Content digest of each data table as a whole (row count and order-free hash of its data columns): equal
        digests ⇔ equal rows up to order, run ids, timings and model version numbers."""
        with self._locked(exclusive=False), self._connect(read_only=True) as con:
            present = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            digests = {}
            for table in tables or [t for t in SCHEMA if t not in BOOKKEEPING_TABLES]:
                if table in present:
                    rows, total = con.execute(f"SELECT {self._digest_expression(con, table)} FROM {table}").fetchone()
                    digests[table] = format_digest(rows, total)
        return digests

    # ------------------------------------------------------------------ reads
    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        """Run a read-only SQL query and return a polars frame (empty if the database is new)."""
        if not self.path.exists():
            raise WarehouseError(f"warehouse {self.path} does not exist yet: materialize an asset first")
        with self._locked(exclusive=False), self._connect(read_only=True) as con:
            return pl.from_arrow(con.sql(sql, params=parameters or None).to_arrow_table())

    def read_partition(self, table: str, key: PartitionKey) -> pl.DataFrame:
        """All rows of ``table`` matching ``key``, ordered by sample (and particle/step)."""
        order = {
            "samples": "sample",
            "cooling_curves": "sample, step",
            "propensity": "sample, frame, particle",
            "propensity_summary": "sample, frame",
            "mlp_feature_names": "position",
            "state_points": "target_cb",
            "state_point_labels": "target_cb, sample, particle",
            "propensity_predictions": "target_cb, sample, particle",
            "prediction_state_points": "target_cb",
            "mlp_scores": "predictor, temperature, target_cb, split, subset",
            "glassbench_labels": "time, sample, particle",
            "cooling_rate_cnns": "cnn_input, subset",
        }.get(table, "sample, particle")
        if table == "indicator_correlations":
            order = "sample, pair, method"
        where = " AND ".join(f"{column} = ?" for column in key)
        return self.query(f"SELECT * FROM {table} WHERE {where} ORDER BY {order}", list(key.values()))
