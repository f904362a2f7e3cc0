"""The platform's Dagster definitions: every asset, check, sensor and resource in one place."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from glass_assets.automation.sensors import campaign_sensor
from glass_assets.ensembles.assets import quenched_ensembles
from glass_assets.resources import default_resources

quench_job = define_asset_job(
    "quench_job",
    selection=AssetSelection.assets(quenched_ensembles),
    description="Quenched ensembles of one (system, temperature) partition, with their checks.",
)

defs = Definitions(
    assets=[quenched_ensembles],
    jobs=[quench_job],
    sensors=[campaign_sensor],
    resources=default_resources(),
)
