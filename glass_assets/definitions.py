"""The platform's Dagster definitions, built from the campaign file: per system, the assets its stages run.

Global policy lives here: every asset carries :func:`~glass_assets.automation.conditions.campaign_condition`
(with the campaign's ``backfill_schedule``) and a code version with the digest of the profile settings it depends
on, ``campaign_sensor`` keeps the partitions equal to the campaign, ``campaign_automation`` materializes them,
``warehouse_audit`` requests again the partitions whose rows left the warehouse, and the ``nightly_backfill`` schedule
shows the nightly backfill on the Automation page (:mod:`glass_assets.automation.schedules`). If the campaign file does
not validate, the last campaign that did (kept by the sensor in ``$DAGSTER_HOME``) defines the graph, so the UI keeps
working while the sensor's failed tick names the error. Nothing is built at import: Dagster calls the
:func:`~dagster.definitions` loader :func:`defs` when it loads the code location.
"""

import warnings
from pathlib import Path

from dagster import Definitions, definitions

from glass_assets.automation.audit import warehouse_audit
from glass_assets.automation.conditions import campaign_condition
from glass_assets.automation.schedules import nightly_backfill
from glass_assets.automation.sensors import campaign_automation, campaign_sensor, last_good_campaign_path
from glass_assets.campaign import Campaign, load_campaign, with_campaign_settings
from glass_assets.cooling_rate.assets import COOLING_RATE_STUDY
from glass_assets.dynamics.assets import PROPENSITY_LABELS
from glass_assets.dynamics.grad_cam_dynamics import GRAD_CAM_DYNAMICS
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.equilibria.assets import INHERENT_STRUCTURES, SWAP_MC_EQUILIBRIA
from glass_assets.glassbench.assets import GLASSBENCH_SAMPLES, GLASSBENCH_SCORES
from glass_assets.graph import AssetTemplate
from glass_assets.heterogeneity.assets import DYNAMIC_HETEROGENEITY
from glass_assets.heterogeneity.attention import ATTENTION_LENGTHS
from glass_assets.heterogeneity.summary import HETEROGENEITY_SUMMARY
from glass_assets.large_box.assets import LARGE_BOX_EQUILIBRIA
from glass_assets.large_box.four_point_structure_factor import FOUR_POINT_STRUCTURE_FACTOR
from glass_assets.liquid_glass.assets import STRUCTURAL_DESCRIPTORS
from glass_assets.liquid_glass.cnn_classifier import CNN_CLASSIFIER
from glass_assets.liquid_glass.grad_cam_scores import GRAD_CAM_SCORES
from glass_assets.liquid_glass.indicator_correlations import INDICATOR_CORRELATIONS
from glass_assets.profiles import Profile, configured_profile
from glass_assets.propensity_learning.assets import MLP_DESCRIPTORS, STATE_POINT_LABELS
from glass_assets.propensity_learning.glassmlp_models import GLASSMLP_MODELS
from glass_assets.propensity_learning.predictions import PROPENSITY_PREDICTIONS
from glass_assets.propensity_learning.tglassmlp_model import TGLASSMLP_MODEL
from glass_assets.propensity_learning.transferability import TRANSFERABILITY
from glass_assets.proposals.assets import CAMPAIGN_PROPOSALS
from glass_assets.proposals.autopilot import campaign_autopilot
from glass_assets.report.assets import paper_report_asset
from glass_assets.resources import default_resources
from glass_assets.settings import DAGSTER_HOME

__all__ = ["TEMPLATES", "build_definitions", "defs"]

#: every asset of the platform, in the order of the flow
TEMPLATES: tuple[AssetTemplate, ...] = (
    QUENCHED_ENSEMBLES,
    STRUCTURAL_DESCRIPTORS,
    CNN_CLASSIFIER,
    GRAD_CAM_SCORES,
    INDICATOR_CORRELATIONS,
    SWAP_MC_EQUILIBRIA,
    INHERENT_STRUCTURES,
    PROPENSITY_LABELS,
    GRAD_CAM_DYNAMICS,
    MLP_DESCRIPTORS,
    STATE_POINT_LABELS,
    GLASSMLP_MODELS,
    TGLASSMLP_MODEL,
    TRANSFERABILITY,
    PROPENSITY_PREDICTIONS,
    DYNAMIC_HETEROGENEITY,
    ATTENTION_LENGTHS,
    GLASSBENCH_SAMPLES,
    GLASSBENCH_SCORES,
    LARGE_BOX_EQUILIBRIA,
    FOUR_POINT_STRUCTURE_FACTOR,
    HETEROGENEITY_SUMMARY,
    CAMPAIGN_PROPOSALS,
    COOLING_RATE_STUDY,
)


def build_definitions(campaign: Campaign, profile: Profile | None = None) -> Definitions:
    """Assets ``<system>/<name>`` for every system and stage of ``campaign``, the ``paper_report`` over all of them,
    the three sensors, the ``nightly_backfill`` schedule (with the job that lists what the night's backfill covers),
    the ``campaign_autopilot`` schedule with the ``accept_campaign_proposals`` job, and the resources.

    ``profile`` (default: :func:`~glass_assets.profiles.configured_profile`, i.e. ``GLASS_PROFILE`` of
    ``GLASS_PROFILES_FILE``, validated with every other profile of that file) sets each asset's code version
    suffix, the digest of the settings it depends on; an unknown profile or a file that fails validation raises
    here, naming the file, the profile and the key, so no code location loads and nothing is requested."""
    profile = with_campaign_settings(profile or configured_profile(), campaign)
    condition = campaign_condition(campaign.backfill_schedule)
    assets = []
    for system in campaign.systems:
        names = campaign.asset_names(system)
        built = {t.name: t for t in TEMPLATES if t.name in names}
        assets += [template.build(system, built, condition, profile) for template in built.values()]
    assets.append(paper_report_asset(campaign, condition))  # one for the campaign, after every system's summaries
    schedule, plan = nightly_backfill(campaign.backfill_schedule)
    autopilot, accept = campaign_autopilot(campaign.backfill_schedule, campaign.autopilot_cpu_hours)
    return Definitions(
        assets=assets,
        sensors=[campaign_sensor, campaign_automation(campaign.backfill_schedule), warehouse_audit],
        schedules=[schedule, autopilot],
        jobs=[plan, accept],
        resources=default_resources(),
    )


def _campaign() -> Campaign:
    try:
        return load_campaign()
    except ValueError as error:
        home = DAGSTER_HOME.raw()
        fallback = last_good_campaign_path(home) if home else None
        if fallback is None or not Path(fallback).is_file():
            raise
        warnings.warn(f"{error}; the graph follows the last valid campaign, {fallback}", stacklevel=1)
        return load_campaign(fallback)


@definitions
def defs() -> Definitions:
    """The code location (``workspace.yaml``, ``dagster definitions validate``): :func:`build_definitions` of the
    campaign file, built when Dagster loads it rather than when this module is imported; call ``defs()`` for the
    :class:`~dagster.Definitions`."""
    return build_definitions(_campaign())
