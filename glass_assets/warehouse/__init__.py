"""The DuckDB warehouse: documented tables, one-transaction partition writes, safe concurrent access.

DuckDB lets one process hold a database file for writing at a time; a second process that tries
fails at once. Every access here therefore takes an advisory lock on ``<database>.lock`` first
(exclusive to write, shared to read), so concurrent partition runs wait for each other instead of
failing, and only for the seconds a write takes.

A partition write deletes the partition's rows from every table it touches and inserts the new rows in
one transaction: a process killed mid-write leaves the previous rows, never half of the new ones
(:meth:`Warehouse.replace_partitions` does the same for several partition keys at once).

The package: the tables, what each holds and its columns (:mod:`.schema`); how a warehouse made by an earlier
release is brought up to date when it is opened (:mod:`.migrations`); the :class:`Warehouse` itself, its locked
access, transactional writes, row-set digests and reads (:mod:`.store`).
"""

# ``X as X``: imported from here by other modules, outside __all__ as before (the row-set digest's method and
# format, shared by the MLflow training datasets of glass_assets.registry)
from glass_assets.warehouse.schema import SCHEMA
from glass_assets.warehouse.store import HASH_METHOD as HASH_METHOD
from glass_assets.warehouse.store import PartitionKey, Warehouse, WarehouseError, ensemble_key
from glass_assets.warehouse.store import format_digest as format_digest

__all__ = ["SCHEMA", "PartitionKey", "Warehouse", "WarehouseError", "ensemble_key"]
