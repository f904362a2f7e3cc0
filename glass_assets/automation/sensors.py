"""The campaign sensor: turns the campaign file into temperature partitions and run requests."""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    MultiPartitionKey,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from glass_assets.campaign import CAMPAIGN_STAGES, default_campaign_path, load_campaign
from glass_assets.partitions import TEMPERATURE_PARTITIONS

__all__ = ["campaign_sensor", "campaign_requests"]


def campaign_requests(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """New temperature partitions and one run request per campaign entry not yet materialized."""
    campaign = load_campaign(default_campaign_path())
    instance = context.instance
    known = set(instance.get_dynamic_partitions(TEMPERATURE_PARTITIONS.name))
    new_temperatures = [t for t in campaign.temperature_keys if t not in known]
    requests = []
    for stage, asset_name in CAMPAIGN_STAGES.items():
        key = AssetKey(asset_name)
        done = {str(k) for k in instance.get_materialized_partitions(key)}
        for system, temperature in campaign.for_stage(stage):
            partition = MultiPartitionKey({"system": system, "temperature": temperature})
            if str(partition) in done:
                continue
            requests.append(
                RunRequest(
                    run_key=f"{asset_name}|{partition}",
                    partition_key=partition,
                    asset_selection=[key],
                    tags={"campaign/stage": stage, "campaign/system": system, "campaign/temperature": temperature},
                )
            )
    if not new_temperatures and not requests:
        return SkipReason("every campaign partition is materialized")
    context.log.info(f"campaign: {len(new_temperatures)} new temperatures, {len(requests)} run requests")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[TEMPERATURE_PARTITIONS.build_add_request(new_temperatures)]
        if new_temperatures
        else [],
    )


@sensor(
    name="campaign_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=[AssetKey(name) for name in CAMPAIGN_STAGES.values()],
    description="Reads campaign.yaml ($GLASS_CAMPAIGN): adds new temperatures as partitions and requests their runs.",
)
def campaign_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    return campaign_requests(context)
