"""The platform's Dagster definitions: every asset, check, sensor and resource in one place."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from glass_assets.automation.sensors import campaign_sensor
from glass_assets.dynamics.assets import propensity_labels
from glass_assets.dynamics.grad_cam_dynamics import grad_cam_dynamics
from glass_assets.ensembles.assets import quenched_ensembles
from glass_assets.equilibria.assets import inherent_structures, swap_mc_equilibria
from glass_assets.glassbench.assets import glassbench_samples, glassbench_scores
from glass_assets.heterogeneity.assets import attention_lengths, dynamic_heterogeneity, heterogeneity_summary
from glass_assets.heterogeneity.large_boxes import four_point_structure_factor, large_box_equilibria
from glass_assets.liquid_glass.assets import (
    cnn_classifier,
    grad_cam_scores,
    indicator_correlations,
    structural_descriptors,
)
from glass_assets.propensity_learning.assets import mlp_descriptors, state_point_labels
from glass_assets.propensity_learning.models import glassmlp_models, tglassmlp_model
from glass_assets.propensity_learning.predictions import propensity_predictions
from glass_assets.resources import default_resources

quench_job = define_asset_job(
    "quench_job",
    selection=AssetSelection.assets(quenched_ensembles),
    description="Quenched ensembles of one (system, temperature) partition, with their checks.",
)

liquid_glass_job = define_asset_job(
    "liquid_glass_job",
    selection=AssetSelection.assets(cnn_classifier, grad_cam_scores, indicator_correlations),
    description="CNN classifier, Grad-CAM scores and indicator correlations of one system.",
)

defs = Definitions(
    assets=[
        quenched_ensembles,
        structural_descriptors,
        cnn_classifier,
        grad_cam_scores,
        indicator_correlations,
        swap_mc_equilibria,
        inherent_structures,
        propensity_labels,
        grad_cam_dynamics,
        mlp_descriptors,
        state_point_labels,
        glassmlp_models,
        tglassmlp_model,
        propensity_predictions,
        dynamic_heterogeneity,
        attention_lengths,
        heterogeneity_summary,
        glassbench_samples,
        glassbench_scores,
        large_box_equilibria,
        four_point_structure_factor,
    ],
    jobs=[quench_job, liquid_glass_job],
    sensors=[campaign_sensor],
    resources=default_resources(),
)
