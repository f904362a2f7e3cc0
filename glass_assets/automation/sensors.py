"""The two sensors of the campaign: one keeps the partitions equal to the campaign file, one materializes them.

``campaign_sensor`` reads ``campaign.yaml`` (``$GLASS_CAMPAIGN``) every 30 s and adds or removes the
temperature partitions of every (system, stage) so that they are exactly the campaign's; it requests no
run. ``campaign_automation`` evaluates each asset's automation condition (:mod:`.conditions`) and launches
what is due: new partitions within seconds, the nightly backfill of everything still missing. A campaign
file with an error fails the tick with the file, system and value named, and changes nothing.
"""

import shutil
from pathlib import Path

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from glass_assets.campaign import CAMPAIGN_STAGES, PER_SYSTEM_STAGES, Campaign, default_campaign_path, load_campaign
from glass_assets.partitions import temperature_partitions
from glass_assets.settings import SENSOR_TICK_SECONDS

__all__ = [
    "campaign_automation",
    "campaign_partition_requests",
    "campaign_sensor",
    "last_good_campaign_path",
    "sync_partitions",
]

#: seconds between the sensors' ticks; ``GLASS_SENSOR_TICK_SECONDS`` shortens it (the daemon tests use 5)
TICK_SECONDS: int = SENSOR_TICK_SECONDS.get()
#: stages whose temperatures are partitions (the rest are per system)
PARTITION_STAGES = tuple(stage for stage in CAMPAIGN_STAGES if stage not in PER_SYSTEM_STAGES)


def last_good_campaign_path(instance_root: str | Path) -> Path:
    """Where the campaign sensor keeps a copy of the last campaign file that validated."""
    return Path(instance_root) / "campaign.last_good.yaml"


def campaign_partition_requests(
    campaign: Campaign, instance: DagsterInstance
) -> list:  # list of Add/DeleteDynamicPartitionsRequest
    """The dynamic-partition changes that make every (system, stage) hold exactly the campaign's temperatures."""
    requests = []
    for system in campaign.systems:
        for stage in PARTITION_STAGES:
            definition = temperature_partitions(system, stage)
            wanted = campaign.temperatures(system, stage)
            known = instance.get_dynamic_partitions(definition.name)
            new = [t for t in wanted if t not in known]
            gone = [t for t in known if t not in wanted]
            if new:
                requests.append(definition.build_add_request(new))
            if gone:
                requests.append(DeleteDynamicPartitionsRequest(definition.name, gone))
    return requests


def sync_partitions(instance: DagsterInstance, campaign: Campaign) -> list[str]:
    """Apply :func:`campaign_partition_requests` directly (for the demo and scripts); lines saying what changed."""
    changes = []
    for request in campaign_partition_requests(campaign, instance):
        keys = list(request.partition_keys)
        if isinstance(request, DeleteDynamicPartitionsRequest):
            for key in keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
            changes.append(f"removed {request.partitions_def_name} {keys}")
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, keys)
            changes.append(f"added {request.partitions_def_name} {keys}")
    return changes


@sensor(
    name="campaign_sensor",
    minimum_interval_seconds=TICK_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Keeps the temperature partitions equal to campaign.yaml ($GLASS_CAMPAIGN): adds the new ones, removes "
        "the ones taken out. Requests no run; campaign_automation materializes them."
    ),
)
def campaign_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    path = default_campaign_path()
    campaign = load_campaign(path)  # a ValueError naming file, system and value fails the tick
    if context.instance.root_directory:
        shutil.copyfile(path, last_good_campaign_path(context.instance.root_directory))
    requests = campaign_partition_requests(campaign, context.instance)
    if not requests:
        return SkipReason("the partitions already match the campaign")
    for request in requests:
        context.log.info(f"{type(request).__name__} {request.partitions_def_name}: {list(request.partition_keys)}")
    return SensorResult(dynamic_partitions_requests=requests)


def campaign_automation(backfill_schedule: str) -> AutomationConditionSensorDefinition:
    """The sensor that evaluates every asset's automation condition; one tick's partitions of an asset become one
    backfill."""
    return AutomationConditionSensorDefinition(
        "campaign_automation",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=TICK_SECONDS,
        emit_backfills=True,
        description=(
            "Materializes the campaign: new partitions and updated inputs within seconds; every partition still "
            f"missing at '{backfill_schedule}' (UTC) as one backfill. See glass_assets/automation/conditions.py."
        ),
    )
