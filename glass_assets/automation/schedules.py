"""The nightly backfill, visible as a schedule.

The backfill itself is a clause of every asset's automation condition (:mod:`.conditions`): at the campaign's
``backfill_schedule`` (UTC) ``campaign_automation`` requests every partition still missing, failed ones included,
and Dagster launches each asset's partitions as one backfill (*Overview → Backfills*). A Dagster 1.13 schedule
cannot launch a backfill through public API, so the schedule here does not launch it a second time: it ticks at the
same cron and, when something is missing, runs ``nightly_backfill_plan``, which lists per asset the partitions that
night's backfill covers. So the *Automation* page shows the nightly backfill as what it is — a schedule named
``nightly_backfill`` with its cron and next tick — and each night leaves a run that says what was due.
"""


from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dagster import (
    Config,
    DagsterInstance,
    DefaultScheduleStatus,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

__all__ = ["missing_partitions", "nightly_backfill", "nightly_backfill_plan"]

#: the schedule's name, as the Automation page lists it
NAME = "nightly_backfill"


class PlanConfig(Config):
    """What the schedule found missing at its tick: asset key → partition keys."""

    missing: dict[str, list[str]]
    backfill_schedule: str


@op(description="Logs per asset the partitions still missing at the nightly tick: what campaign_automation backfills.")
def list_missing_partitions(context: OpExecutionContext, config: PlanConfig) -> Output[int]:
    total = sum(len(keys) for keys in config.missing.values())
    for asset, keys in sorted(config.missing.items()):
        context.log.info(f"{asset}: {len(keys)} partition(s) missing: {', '.join(keys)}")
    context.log.info(
        f"campaign_automation requests these {total} partition(s) on its first tick after '{config.backfill_schedule}' "
        "(UTC), as one backfill per asset: Overview → Backfills"
    )
    lines = [f"| `{asset}` | {len(keys)} | {', '.join(keys)} |" for asset, keys in sorted(config.missing.items())]
    table = "| asset | missing | partitions |\n|---|---|---|\n" + "\n".join(lines)
    return Output(total, metadata={"missing_partitions": total, "by_asset": MetadataValue.md(table)})


@job(
    name="nightly_backfill_plan",
    description=(
        "What tonight's backfill covers: the campaign partitions still missing at the nightly_backfill schedule's "
        "tick, per asset. It materializes nothing; campaign_automation launches the backfill itself."
    ),
)
def nightly_backfill_plan() -> None:
    list_missing_partitions()


def missing_partitions(asset_graph: "BaseAssetGraph", instance: DagsterInstance) -> dict[str, list[str]]:
    """Asset key → its partitions (the campaign's, as the dynamic partitions hold them) with no materialization;
    unpartitioned assets never materialized are listed with an empty list of partitions."""
    missing: dict[str, list[str]] = {}
    for key in sorted(asset_graph.materializable_asset_keys):
        node = asset_graph.get(key)
        name = key.to_user_string()
        if node.partitions_def is None:
            if instance.get_latest_materialization_event(key) is None:
                missing[name] = []
            continue
        wanted = [str(p) for p in node.partitions_def.get_partition_keys(dynamic_partitions_store=instance)]
        done = {str(p) for p in instance.get_materialized_partitions(key)}
        keys = [p for p in wanted if p not in done]
        if keys:
            missing[name] = keys
    return missing


def _plan_request(missing: Mapping[str, Sequence[str]], backfill_schedule: str) -> RunRequest:
    config = {"missing": {k: list(v) for k, v in missing.items()}, "backfill_schedule": backfill_schedule}
    return RunRequest(run_config={"ops": {"list_missing_partitions": {"config": config}}})


def nightly_backfill(backfill_schedule: str) -> tuple[ScheduleDefinition, JobDefinition]:
    """The ``nightly_backfill`` schedule at the campaign's cron (UTC) and its job :func:`nightly_backfill_plan`."""

    @schedule(
        name=NAME,
        cron_schedule=backfill_schedule,
        execution_timezone="UTC",
        job=nightly_backfill_plan,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Nightly backfill schedule: at '{backfill_schedule}' (UTC, backfill_schedule in campaign.yaml) every "
            "campaign partition still missing, failed ones included, is materialized as one backfill per asset "
            "(Overview → Backfills). campaign_automation launches that backfill (the cron clause of the assets' "
            "automation condition); this schedule ticks at the same time and runs nightly_backfill_plan, which "
            "lists what the backfill covers. Needs the daemon: `dagster dev` starts it."
        ),
    )
    def _schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        missing = missing_partitions(context.repository_def.asset_graph, context.instance)
        if not missing:
            return SkipReason("every campaign partition is materialized: tonight's backfill has nothing to do")
        return _plan_request(missing, backfill_schedule)

    return _schedule, nightly_backfill_plan
