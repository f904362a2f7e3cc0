"""``warehouse_audit``: Dagster's record of each stored partition against what the warehouse and the registry hold.

Dagster records a partition as materialized once; the rows live in DuckDB and the models in MLflow, which a user can
delete, replace (a copy from another machine, a restore) or edit behind Dagster's back. Every tick this sensor takes
the latest materialization of every partition the campaign wants that recorded its row sets
(:mod:`glass_assets.lineage`), and compares (:func:`glass_assets.provenance.audit_partition`):

- each recorded row set with the warehouse's ``row_sets`` record (missing, or written by another run: a different
  digest) and with the rows left under its key (a row count below the recorded one);
- in a rotating share of the row sets, :data:`DEEP_ROWS_PER_TICK` rows a tick, the content digest itself (values
  edited in place), so every row is re-hashed within a bounded number of ticks at a bounded cost;
- each recorded model version with the MLflow registry.

A failing partition is **reported** as a failed evaluation of the asset's check ``warehouse_holds_recorded_rows``
(partition, table and figures in its description and metadata; a passed evaluation once it is back), and
**requested** again: one run of that asset and partition (run key ``heal:<asset>:<partition>:<record id>``, tag
``glass/heal``), once no ancestor asset of it is damaged or in progress — unless one of its inputs was materialized
since its record, in which case the campaign automation requests it ("an input was updated"). Its downstream assets
follow through the automation the same way, in graph order. A deleted warehouse therefore leads to the roots (the
quenches, the swap-MC equilibria) being requested, and the automation recomputes the rest; with the same seeds the
tables end identical. A heal run that fails is not requested again for the same record (the check stays failed and
says so): a fault that recurs needs a person.
"""

from __future__ import annotations

import json
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    partition_loading_context,
    sensor,
)
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus  # no public import in 1.13

from glass_assets.lineage import latest_materialization
from glass_assets.provenance import CHECK_NAME, Finding, audit_partition, recorded_models, recorded_row_sets
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import WarehouseResource
from glass_assets.settings import AUDIT_DEEP_ROWS, SENSOR_TICK_SECONDS

__all__ = ["DEEP_ROWS_PER_TICK", "HEAL_TAG", "PartitionAudit", "audit_instance", "heal_requests", "warehouse_audit"]

TICK_SECONDS: int = SENSOR_TICK_SECONDS.get()
#: rows whose content digest is recomputed per tick (the rest are counted, and their records compared)
DEEP_ROWS_PER_TICK: int = AUDIT_DEEP_ROWS.get()
HEAL_TAG = "glass/heal"
IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


class PartitionAudit(dict):
    """{asset key: {partition: (record storage id, findings)}} of one audit (partitions with findings only in
    :meth:`damaged`)."""

    def damaged(self) -> dict[AssetKey, dict[str, tuple[int, list[Finding]]]]:
        return {
            key: {p: v for p, v in partitions.items() if v[1]}
            for key, partitions in self.items()
            if any(v[1] for v in partitions.values())
        }


def _wanted_partitions(node: Any, instance: DagsterInstance) -> list[str] | None:
    if node.partitions_def is None:
        return None
    with partition_loading_context(dynamic_partitions_store=instance):
        return [str(p) for p in node.partitions_def.get_partition_keys()]


def audit_instance(
    instance: DagsterInstance, graph: Any, store: Any, registry: Any = None, deep_offset: int = 0,
    deep_rows: int = DEEP_ROWS_PER_TICK,
) -> tuple[PartitionAudit, int]:
    """Audit every stored, wanted partition of ``graph``'s assets; returns the audit and the next ``deep_offset``
    (where the rotating content check resumes next tick)."""
    audit = PartitionAudit()
    recorded = []
    for key in graph.toposorted_asset_keys:
        wanted = _wanted_partitions(graph.get(key), instance)
        if wanted is None:
            continue
        for partition in sorted(set(wanted) & {str(p) for p in instance.get_materialized_partitions(key)}):
            record = latest_materialization(instance, key, partition)
            metadata = record.event_log_entry.asset_materialization.metadata if record else {}
            row_sets = recorded_row_sets(metadata)
            if row_sets is not None:
                recorded.append((key, partition, record.storage_id, row_sets, recorded_models(metadata)))
    records = store.row_set_records() if store.path.exists() else {}
    total = sum(int(r["rows"]) for *_, row_sets, _ in recorded for r in row_sets) or 1
    start, position = deep_offset % total, 0
    window = [(start, start + deep_rows), (start - total, start + deep_rows - total)]  # the second: wrapped around
    for key, partition, storage_id, row_sets, models in recorded:
        size = sum(int(r["rows"]) for r in row_sets)
        deep = any(position < end and position + max(size, 1) > begin for begin, end in window)
        position += size
        findings = audit_partition(store, row_sets, models, registry=registry, deep=deep, records=records)
        audit.setdefault(key, {})[partition] = (storage_id, findings)
    return audit, (start + deep_rows) % total


def _busy_keys(instance: DagsterInstance) -> set[AssetKey]:
    """Assets with a queued or running run, or in a backfill still in progress."""
    busy: set[AssetKey] = set()
    for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS)):
        busy |= set(run.asset_selection or ())
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED])):
        busy |= set(backfill.asset_selection or ())
    return busy


def _updated_inputs(instance: DagsterInstance, graph: Any, key: AssetKey, partition: str, since: int) -> list[str]:
    """The input partitions of ``key``/``partition`` materialized after the record ``since`` (storage id): the
    campaign automation requests the partition for them anyway ("an input was updated")."""
    with partition_loading_context(dynamic_partitions_store=instance):
        parents = graph.get_parents_partitions(key, partition).parent_partitions
    newer = []
    for parent in parents:
        record = latest_materialization(instance, parent.asset_key, parent.partition_key)
        if record is not None and record.storage_id > since:
            newer.append(f"{parent.asset_key.to_user_string()} {parent.partition_key or ''}".strip())
    return newer


def heal_requests(instance: DagsterInstance, graph: Any, audit: PartitionAudit) -> tuple[list[RunRequest], list[str]]:
    """Runs for the damaged partitions that no damaged or busy ancestor holds back, and that the automation will
    not request anyway (an input updated since their record); notes on the others."""
    damaged = audit.damaged()
    busy = _busy_keys(instance)
    requests, notes = [], []
    for key, partitions in damaged.items():
        ancestors = graph.get_ancestor_asset_keys(key)
        blockers = sorted(k.to_user_string() for k in ancestors if k in damaged or k in busy)
        if key in busy or blockers:
            notes.append(f"{key.to_user_string()} waits for {', '.join(blockers) or 'its own run in progress'}")
            continue
        for partition, (storage_id, _) in partitions.items():
            updated = _updated_inputs(instance, graph, key, partition, storage_id)
            if updated:
                notes.append(f"{key.to_user_string()} {partition}: the automation recomputes it ({', '.join(updated)} "
                             "updated since)")
                continue
            heal = f"{key.to_user_string()}|{partition}|{storage_id}"
            failed = instance.get_runs(RunsFilter(tags={HEAL_TAG: heal}, statuses=[DagsterRunStatus.FAILURE]), limit=1)
            if failed:
                notes.append(f"{key.to_user_string()} {partition}: heal run {failed[0].run_id} failed; not retried")
                continue
            requests.append(
                RunRequest(
                    run_key=f"heal:{heal}",
                    asset_selection=[key],
                    partition_key=partition,
                    tags={HEAL_TAG: heal},
                )
            )
    return requests, notes


def _evaluations(
    key: AssetKey, damaged: dict[str, tuple[int, list[Finding]]], recovered: list[str]
) -> list[AssetCheckEvaluation]:
    """A failed evaluation of ``key``'s audit check for each damaged partition (its findings in the description and
    metadata), a passed one for each partition that is back as recorded (the audit covers partitioned assets only)."""
    events = [
        AssetCheckEvaluation(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=f"{partition}: " + "; ".join(str(f) for f in findings),
            metadata={"partition": partition, "findings": [str(f) for f in findings]},
            partition=partition,
        )
        for partition, (_, findings) in sorted(damaged.items())
    ]
    events += [
        AssetCheckEvaluation(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=True,
            description=f"{partition}: in the warehouse and the registry as recorded again",
            metadata={"partition": partition},
            partition=partition,
        )
        for partition in recovered
    ]
    return events


@sensor(
    name="warehouse_audit",
    minimum_interval_seconds=TICK_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Compares Dagster's record of every stored partition with the warehouse and the MLflow registry (row counts, "
        "content digests, model versions); reports a partition whose rows went missing or changed on its check "
        "warehouse_holds_recorded_rows and requests it again. See glass_assets/automation/audit.py."
    ),
)
def warehouse_audit(
    context: SensorEvaluationContext, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> SensorResult | SkipReason:
    graph = context.repository_def.asset_graph
    cursor = json.loads(context.cursor) if context.cursor else {}
    audit, offset = audit_instance(
        context.instance, graph, warehouse.get(), mlflow_tracking.activate(), deep_offset=cursor.get("offset", 0)
    )
    damaged = audit.damaged()
    state = {k.to_user_string(): sorted(v) for k, v in damaged.items()}
    previous = cursor.get("damaged", {})
    events = []
    for key in audit:
        now, before = state.get(key.to_user_string(), []), previous.get(key.to_user_string(), [])
        if now != before:
            news = {p: v for p, v in damaged.get(key, {}).items() if p not in before}
            recovered = sorted(set(before) - set(now))
            events += _evaluations(key, news, recovered)
    requests, notes = heal_requests(context.instance, graph, audit)
    for note in notes:
        context.log.info(note)
    for request in requests:
        context.log.warning(f"requesting {request.asset_selection[0].to_user_string()} {request.partition_key} again")
    new_cursor = json.dumps({"offset": offset, "damaged": state})
    if not events and not requests:
        context.update_cursor(new_cursor)
        audited = sum(len(p) for p in audit.values())
        return SkipReason(f"{audited} stored partitions audited" + (f"; {len(damaged)} assets damaged" if damaged
                                                                     else ", every one as recorded"))
    return SensorResult(run_requests=requests, asset_events=events, cursor=new_cursor)
