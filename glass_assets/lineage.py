"""Provenance in Dagster: what every asset step records, and what it checks before it reads its inputs.

:func:`instrument` wraps an asset body (:meth:`glass_assets.graph.AssetTemplate.build` calls it, the one place):

1. before the body runs, :func:`guard_inputs` compares what Dagster recorded for each upstream partition the step
   reads with what the warehouse and the registry hold (:func:`glass_assets.provenance.audit_partition`) and the
   settings digests of every row set it combines (:func:`glass_assets.provenance.find_conflicts`); a missing,
   incomplete or changed input, or a mix of settings the profile does not allow, fails the step before it computes
   anything (``Failure(allow_retries=False)``), naming the tables, partitions and digests;
2. while the body runs, a :class:`~glass_assets.provenance.WriteContext` (asset, partition, run, profile and its
   settings digests) is active, so every warehouse write records its row set and every registration its model
   version;
3. the body's ``MaterializeResult`` gains the provenance metadata (``glass/profile``, ``glass/settings_digest``,
   ``glass/settings``, ``glass/row_sets``, ``glass/models``), a data version (digest of settings, rows and models)
   and the passed result of :data:`~glass_assets.provenance.CHECK_NAME`.

:func:`code_version` puts the digest of every setting an asset depends on (its own ``profile_settings`` and its
upstream assets', transitively) into its Dagster code version, so changing a setting marks exactly the dependent
assets stale.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.partitions import temperature_partitions
from glass_assets.profiles import Profile
from glass_assets.provenance import (
    CHECK_NAME,
    METADATA_DIGEST,
    METADATA_MODELS,
    METADATA_PROFILE,
    METADATA_ROW_SETS,
    METADATA_SETTINGS,
    Source,
    WriteContext,
    audit_partition,
    combined_digest,
    find_conflicts,
    recorded_models,
    recorded_row_sets,
    settings_digests,
    writing,
)

if TYPE_CHECKING:
    from glass_assets.graph import AssetTemplate
    from glass_assets.warehouse import Warehouse

__all__ = [
    "check_spec",
    "code_version",
    "guard_inputs",
    "instrument",
    "latest_materialization",
    "read_settings",
]

PER_SYSTEM = "system"  # = glass_assets.graph.PER_SYSTEM (not imported: graph imports this module)


def read_settings(template: AssetTemplate, built: Mapping[str, AssetTemplate]) -> tuple[str, ...]:
    """The profile settings ``template``'s rows depend on: its own and its upstream assets', transitively."""
    paths, pending, seen = set(), [template], set()
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        paths |= set(current.profile_settings)
        pending += [built[up.name] for up in current.upstream if up.name in built]
    return tuple(sorted(paths))


def code_version(
    template: AssetTemplate, system: str, built: Mapping[str, AssetTemplate], profile: Profile | None
) -> str:
    """``<logic version>+profile.<digest of the settings read>``; the logic version alone without a profile."""
    if profile is None:
        return template.code_version
    digest = combined_digest(settings_digests(profile, system, read_settings(template, built)))
    return f"{template.code_version}+profile.{digest}"


def check_spec(key: AssetKey) -> AssetCheckSpec:
    """The check every asset carries: its rows and model versions are where its materialization recorded them."""
    return AssetCheckSpec(
        CHECK_NAME,
        asset=key,
        description=(
            "The warehouse and the MLflow registry hold this partition's rows and model versions as its "
            "materialization recorded them (row counts, content digests). Passed at each materialization; the "
            "warehouse_audit sensor re-evaluates it and requests a partition that lost them."
        ),
    )


def latest_materialization(instance: DagsterInstance, key: AssetKey, partition: str | None) -> Any:
    """The latest materialization record of ``key`` (one partition), or ``None``."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    return records[0] if records else None


def _metadata(record: Any) -> Mapping[str, Any]:
    materialization = record.event_log_entry.asset_materialization if record else None
    return materialization.metadata if materialization else {}


def _upstream_partitions(
    template: AssetTemplate, upstream: AssetTemplate, every: bool, system: str, partition: str | None,
    instance: DagsterInstance,
) -> list[str]:
    """The partitions of ``upstream`` a step of ``template`` at ``partition`` reads (the graph's partition mapping)."""
    if upstream.partitioned_by == PER_SYSTEM:
        return [system]
    if every or template.partitioned_by == PER_SYSTEM:
        definition = temperature_partitions(system, upstream.partitioned_by)
        return [f"{system}|{t}" for t in instance.get_dynamic_partitions(definition.name)]
    return [partition] if partition else []


def guard_inputs(
    context: Any,
    store: Warehouse,
    template: AssetTemplate,
    system: str,
    built: Mapping[str, AssetTemplate],
    write: WriteContext,
    profile: Profile,
    registry: Any = None,
) -> list[Source]:
    """Refuse (``Failure``, no retry) to start from an upstream partition that the warehouse or the registry no
    longer holds as recorded, or from rows whose settings differ from each other or from this run's; the sources
    compared otherwise."""
    instance: DagsterInstance = context.instance
    where = f"{write.asset} {write.partition or ''}".strip()
    sources: list[Source] = []
    problems: list[str] = []
    records = store.row_set_records() if store.path.exists() else {}
    for up in template.upstream:
        if up.name not in built:
            continue
        upstream = built[up.name]
        key = upstream.key(system)
        wanted = _upstream_partitions(template, upstream, up.partitions == "all", system, write.partition, instance)
        materialized = {str(p) for p in instance.get_materialized_partitions(key)}
        for partition in sorted(set(wanted) & materialized):
            metadata = _metadata(latest_materialization(instance, key, partition))
            row_sets = recorded_row_sets(metadata)
            if row_sets is None:  # materialized before provenance was recorded: nothing to compare with
                continue
            label = f"{key.to_user_string()} {partition}"
            problems += [f"{label}: {finding}" for finding in audit_partition(
                store, row_sets, recorded_models(metadata), registry=registry, deep=True, records=records
            )]
            present = [records[(r["table"], r["key"])] for r in row_sets if (r["table"], r["key"]) in records]
            if present and present[0].get("settings"):
                tables = ", ".join(sorted({r["table"] for r in row_sets}))
                sources.append(Source(f"{label} ({tables})", present[0]["profile"], json.loads(present[0]["settings"])))
    if problems:
        raise Failure(
            description=(
                f"{where} would read inputs that are not in the warehouse as Dagster recorded them, so it computes "
                "nothing: " + "; ".join(problems) + ". The warehouse_audit sensor requests the damaged partitions "
                "again; this step follows when they are back."
            ),
            metadata={"damaged_inputs": MetadataValue.json(problems)},
            allow_retries=False,
        )
    sources.append(Source(f"this run of {where}", profile.name, write.settings))  # last: input pairs named first
    conflicts = find_conflicts(sources, profile.provenance.allow_mixed)
    if conflicts:
        raise Failure(
            description=(
                f"{where} would combine rows computed with different profile settings: " + "; ".join(conflicts)
                + ". Rematerialize the stale inputs with one profile, or list the setting under "
                f"provenance.allow_mixed of profile {profile.name!r} ({profile.path}) if the mix is intended."
            ),
            metadata={"conflicts": MetadataValue.json(conflicts)},
            allow_retries=False,
        )
    return sources


def annotate(result: object, write: WriteContext) -> object:
    """``result`` (a ``MaterializeResult``) with the provenance metadata, data version and passed check."""
    if not isinstance(result, MaterializeResult):
        return result
    rows = sum(int(r["rows"]) for r in write.row_sets)
    metadata = {
        **(result.metadata or {}),
        METADATA_PROFILE: write.profile,
        METADATA_DIGEST: write.digest,
        METADATA_SETTINGS: MetadataValue.json(write.settings),
        METADATA_ROW_SETS: MetadataValue.json(write.row_sets),
        METADATA_MODELS: MetadataValue.json(write.models),
    }
    check = AssetCheckResult(
        check_name=CHECK_NAME,
        passed=True,
        description=(
            f"{write.partition or write.asset}: {len(write.row_sets)} row sets ({rows} rows) and "
            f"{len(write.models)} model versions recorded with profile {write.profile} (settings {write.digest})"
        ),
        metadata={"partition": write.partition or "", "row_sets": len(write.row_sets), "rows": rows},
    )
    return MaterializeResult(
        asset_key=result.asset_key,
        metadata=metadata,
        check_results=[*result.check_results, check],
        data_version=DataVersion(write.data_version()),
        tags=result.tags,
    )


def instrument(
    body: Callable[..., object], template: AssetTemplate, system: str, built: Mapping[str, AssetTemplate]
) -> Callable[..., object]:
    """``body`` with the guard before it, the active write context around it and the annotations after it."""
    paths = read_settings(template, built)

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> object:
        from glass_assets.resources import StudySettings

        context = args[0] if args else kwargs["context"]
        study = kwargs.get("study")
        if not isinstance(study, StudySettings):
            return body(*args, **kwargs)
        profile = study.load()
        write = WriteContext(
            asset=context.asset_key.to_user_string(),
            partition=str(context.partition_key) if context.has_partition_key else None,
            run_id=context.run.run_id,
            profile=profile.name,
            settings=settings_digests(profile, system, paths),
            code_version=template.code_version,
        )
        warehouse = kwargs.get("warehouse")
        if warehouse is not None:
            tracking = kwargs.get("mlflow_tracking")
            registry = tracking.activate() if tracking is not None else None
            guard_inputs(context, warehouse.get(), template, system, built, write, profile, registry)
        with writing(write):
            result = body(*args, **kwargs)
        return annotate(result, write)

    return run
