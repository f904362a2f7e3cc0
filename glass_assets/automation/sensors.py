"""The campaign sensor: turns the campaign file into temperature partitions and run requests."""

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    MultiPartitionKey,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from glass_assets.campaign import CAMPAIGN_STAGES, Campaign, default_campaign_path, load_campaign
from glass_assets.partitions import TEMPERATURE_PARTITIONS, temperature_key
from glass_assets.tables import initial_structures_key
from glass_core.models.systems import get_system

__all__ = ["campaign_requests", "campaign_sensor"]


def _materialized(instance: DagsterInstance, asset_name: str) -> set[str]:
    return {str(k) for k in instance.get_materialized_partitions(AssetKey(asset_name))}


def _partition_requests(campaign: Campaign, instance: DagsterInstance, stage: str = "quench") -> list[RunRequest]:
    """One run per (system, temperature) of a per-partition stage that is not materialized yet."""
    assets = CAMPAIGN_STAGES[stage]
    done = _materialized(instance, assets[-1])
    requests = []
    for system, temperature in campaign.for_stage(stage):
        partition = MultiPartitionKey({"system": system, "temperature": temperature})
        if str(partition) not in done:
            requests.append(
                RunRequest(
                    run_key=f"{stage}|{partition}",
                    partition_key=partition,
                    asset_selection=[AssetKey(a) for a in assets],
                    tags={"campaign/stage": stage, "campaign/system": system, "campaign/temperature": temperature},
                )
            )
    return requests


def _liquid_glass_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """One run per system once its liquid and glass ensembles (with descriptors) are materialized."""
    assets = CAMPAIGN_STAGES["liquid_glass"]
    ready = _materialized(instance, CAMPAIGN_STAGES["quench"][-1])
    done = _materialized(instance, assets[-1])
    requests = []
    for system in campaign.systems_for("liquid_glass"):
        temps = get_system(system).temperatures
        needed = {
            str(MultiPartitionKey({"system": system, "temperature": temperature_key(temps[k])}))
            for k in ("liquid", "glass")
        }
        if system not in done and needed <= ready:
            requests.append(
                RunRequest(
                    run_key=f"liquid_glass|{system}",
                    partition_key=system,
                    asset_selection=[AssetKey(a) for a in assets],
                    tags={"campaign/stage": "liquid_glass", "campaign/system": system},
                )
            )
    return requests


def _propensity_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """One run per (system, run temperature) once its initial structures are materialized — and, for a system
    with a CNN in the campaign, once the CNN is trained: its logged split decides which glasses are held out."""
    done = _materialized(instance, "propensity_labels")
    trained = _materialized(instance, "cnn_classifier")
    waits_for_cnn = set(campaign.systems_for("liquid_glass"))
    sources = {
        "quenched": _materialized(instance, "quenched_ensembles"),
        "swap_mc": _materialized(instance, "swap_mc_equilibria"),
    }
    requests = []
    for system, temperature in campaign.for_stage("propensity"):
        partition = MultiPartitionKey({"system": system, "temperature": temperature})
        source = initial_structures_key(system, float(temperature))
        source_partition = MultiPartitionKey({"system": system, "temperature": temperature_key(source["temperature"])})
        ready = str(source_partition) in sources[str(source["ensemble"])]
        if system in waits_for_cnn and system not in trained:
            ready = False
        if str(partition) not in done and ready:
            requests.append(
                RunRequest(
                    run_key=f"propensity|{partition}",
                    partition_key=partition,
                    asset_selection=[AssetKey("propensity_labels")],
                    tags={
                        "campaign/stage": "propensity",
                        "campaign/system": system,
                        "campaign/temperature": temperature,
                    },
                )
            )
    return requests


def _grad_cam_dynamics_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """One run per system once its champion CNN and every campaign propensity partition exist."""
    labelled = _materialized(instance, "propensity_labels")
    trained = _materialized(instance, "cnn_classifier")
    done = _materialized(instance, "grad_cam_dynamics")
    requests = []
    for system in campaign.systems_for("grad_cam_dynamics"):
        needed = {
            str(MultiPartitionKey({"system": s, "temperature": t}))
            for s, t in campaign.for_stage("propensity")
            if s == system
        }
        if system not in done and system in trained and needed and needed <= labelled:
            requests.append(
                RunRequest(
                    run_key=f"grad_cam_dynamics|{system}",
                    partition_key=system,
                    asset_selection=[AssetKey("grad_cam_dynamics")],
                    tags={"campaign/stage": "grad_cam_dynamics", "campaign/system": system},
                )
            )
    return requests


def _request(stage: str, system: str, partition: str | MultiPartitionKey, assets: list[str], **tags: str) -> RunRequest:
    return RunRequest(
        run_key=f"{stage}|{'|'.join(assets)}|{partition}",
        partition_key=partition,
        asset_selection=[AssetKey(a) for a in assets],
        tags={"campaign/stage": stage, "campaign/system": system, **{f"campaign/{k}": v for k, v in tags.items()}},
    )


def _propensity_learning_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """[J]: descriptors of every swap-MC temperature once its inherent structures exist; state-point labels of
    every propensity temperature once its labels exist; the two models once all of those exist; predictions of
    every swap-MC temperature once the tGlassMLP model exists."""
    stage = "propensity_learning"
    inherent, labelled = _materialized(instance, "inherent_structures"), _materialized(instance, "propensity_labels")
    described, pointed = _materialized(instance, "mlp_descriptors"), _materialized(instance, "state_point_labels")
    trained = _materialized(instance, "tglassmlp_model")
    predicted = _materialized(instance, "propensity_predictions")
    requests = []
    for system in campaign.systems_for(stage):
        keys = {
            kind: {
                str(MultiPartitionKey({"system": s, "temperature": t}))
                for s, t in campaign.for_stage(kind)
                if s == system
            }
            for kind in ("swap_mc", "propensity")
        }
        for key in sorted((keys["swap_mc"] & inherent) - described):
            requests.append(_request(stage, system, _key(key), ["mlp_descriptors"]))
        for key in sorted((keys["propensity"] & labelled) - pointed):
            requests.append(_request(stage, system, _key(key), ["state_point_labels"]))
        ready = keys["swap_mc"] <= described and keys["propensity"] <= pointed and keys["propensity"]
        if ready and system not in trained:
            requests.append(_request(stage, system, system, ["glassmlp_models", "tglassmlp_model"]))
        if system in trained:
            for key in sorted((keys["swap_mc"] & described) - predicted):
                requests.append(_request(stage, system, _key(key), ["propensity_predictions"]))
    return requests


def _latest(instance: DagsterInstance, asset_name: str, partition: str) -> int | None:
    """Storage id of the newest materialization of one partition of ``asset_name`` (None if never)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset_name), asset_partitions=[partition]), limit=1
    ).records
    return records[0].storage_id if records else None


def _stale(instance: DagsterInstance, asset_name: str, partition: str, upstream: int) -> bool:
    done = _latest(instance, asset_name, partition)
    return done is None or done < upstream


def _refresh_request(system: str, partition: str | MultiPartitionKey, asset_name: str, upstream: int) -> RunRequest:
    """A heterogeneity run whose run key names the newest upstream materialization: new inputs, new run."""
    request = _request("heterogeneity", system, partition, [asset_name])
    return RunRequest(
        run_key=f"{request.run_key}|after{upstream}",
        partition_key=partition,
        asset_selection=request.asset_selection,
        tags=request.tags,
    )


def _heterogeneity_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """[J]'s dynamic heterogeneity, refreshed whenever an input is newer than the output: dynamic_heterogeneity
    of every swap-MC temperature once its predictions exist; attention_lengths once the tGlassMLP model exists
    (again after a new champion or new predictions); heterogeneity_summary once both are current everywhere."""
    requests = []
    for system in campaign.systems_for("heterogeneity"):
        temperatures = [t for s, t in campaign.for_stage("swap_mc") if s == system]
        keys = sorted(str(MultiPartitionKey({"system": system, "temperature": t})) for t in temperatures)
        predicted = {key: _latest(instance, "propensity_predictions", key) for key in keys}
        current = {}
        for key, upstream in predicted.items():
            if upstream is None:
                continue
            if _stale(instance, "dynamic_heterogeneity", key, upstream):
                requests.append(_refresh_request(system, _key(key), "dynamic_heterogeneity", upstream))
            else:
                current[key] = _latest(instance, "dynamic_heterogeneity", key)
        trained = _latest(instance, "tglassmlp_model", system)
        if trained is None:
            continue
        attention_upstream = max([trained, *(p for p in predicted.values() if p is not None)])
        if _stale(instance, "attention_lengths", system, attention_upstream):
            requests.append(_refresh_request(system, system, "attention_lengths", attention_upstream))
        elif keys and len(current) == len(keys):
            upstream = max([*current.values(), _latest(instance, "attention_lengths", system)])
            if _stale(instance, "heterogeneity_summary", system, upstream):
                requests.append(_refresh_request(system, system, "heterogeneity_summary", upstream))
    return requests


def _glassbench_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """GlassBench [R]: ``glassbench_samples`` of every listed temperature (the campaign checked that the folder has
    its files); ``glassbench_scores`` once those samples exist and the system's tGlassMLP model is materialized."""
    stage = "glassbench"
    sampled, scored = _materialized(instance, "glassbench_samples"), _materialized(instance, "glassbench_scores")
    trained = _materialized(instance, "tglassmlp_model")
    requests = []
    for system, temperature in campaign.for_stage(stage):
        key = str(MultiPartitionKey({"system": system, "temperature": temperature}))
        if key not in sampled:
            requests.append(_request(stage, system, _key(key), ["glassbench_samples"], temperature=temperature))
        elif key not in scored and system in trained:
            requests.append(_request(stage, system, _key(key), ["glassbench_scores"], temperature=temperature))
    return requests


def _large_box_requests(campaign: Campaign, instance: DagsterInstance) -> list[RunRequest]:
    """Large boxes of every ``large_box`` temperature once its swap-MC equilibria exist; S4(q)/ξ4 once the large
    boxes and the system's tGlassMLP champion (``tglassmlp_model``) are materialized."""
    stage = "large_box"
    equilibria, large = _materialized(instance, "swap_mc_equilibria"), _materialized(instance, "large_box_equilibria")
    trained, done = _materialized(instance, "tglassmlp_model"), _materialized(instance, "four_point_structure_factor")
    requests = []
    for system, temperature in campaign.for_stage(stage):
        key = str(MultiPartitionKey({"system": system, "temperature": temperature}))
        if key in equilibria and key not in large:
            requests.append(_request(stage, system, _key(key), ["large_box_equilibria"], temperature=temperature))
        elif key in large and system in trained and key not in done:
            requests.append(
                _request(stage, system, _key(key), ["four_point_structure_factor"], temperature=temperature)
            )
    return requests


def _key(key: str) -> MultiPartitionKey:
    system, temperature = key.split("|")
    return MultiPartitionKey({"system": system, "temperature": temperature})


def campaign_requests(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """New temperature partitions and one run request per campaign entry not yet materialized."""
    campaign = load_campaign(default_campaign_path())
    instance = context.instance
    known = set(instance.get_dynamic_partitions(TEMPERATURE_PARTITIONS.name))
    new_temperatures = [t for t in campaign.temperature_keys if t not in known]
    requests = (
        _partition_requests(campaign, instance)
        + _partition_requests(campaign, instance, "swap_mc")
        + _liquid_glass_requests(campaign, instance)
        + _propensity_requests(campaign, instance)
        + _grad_cam_dynamics_requests(campaign, instance)
        + _propensity_learning_requests(campaign, instance)
        + _heterogeneity_requests(campaign, instance)
        + _glassbench_requests(campaign, instance)
        + _large_box_requests(campaign, instance)
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
    asset_selection=[AssetKey(name) for assets in CAMPAIGN_STAGES.values() for name in assets],
    description="Reads campaign.yaml ($GLASS_CAMPAIGN): adds new temperatures as partitions and requests their runs.",
)
def campaign_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    return campaign_requests(context)
