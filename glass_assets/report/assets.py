"""The ``paper_report`` asset: the report regenerated whenever a summary asset of the campaign changes.

It is not partitioned and belongs to no system: it reads every system's summaries, so it is built once per
campaign (:func:`paper_report_asset`, called by :func:`glass_assets.definitions.build_definitions`) rather than from
an :class:`~glass_assets.graph.AssetTemplate`. It depends on the [O] and [J] summary assets the campaign builds
(:data:`REPORT_INPUTS`); with the campaign's automation condition it runs once all of them exist and again after
any of them is materialized.
"""

import functools
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from glass_assets import compute_accounting
from glass_assets.campaign import Campaign
from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.build import REPORT_NAME, report_systems, write_report
from glass_assets.report.data import ReportData
from glass_assets.report.sections import oyama_systems
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import REPORT_CODE_VERSION

__all__ = ["REPORT_INPUTS", "paper_report_asset", "report_inputs", "report_path"]

#: per-system assets whose rows the report shows, in the flow's order
REPORT_INPUTS = (
    "cnn_classifier",
    "grad_cam_scores",
    "indicator_correlations",
    "propensity_labels",
    "grad_cam_dynamics",
    "cooling_rate_study",
    "glassmlp_models",
    "tglassmlp_model",
    "transferability",
    "heterogeneity_summary",
    "four_point_structure_factor",
    "glassbench_scores",
)
#: inputs the report reads only for [O]'s systems (the scale of the Fig. 4 runs); [J]'s labels enter through
#: heterogeneity_summary
OYAMA_ONLY = frozenset({"propensity_labels"})


def report_path(study: StudySettings) -> Path:
    """``data/reports/paper_report.html``: beside the scratch and plot folders."""
    return Path(study.scratch_dir).parent / "reports" / REPORT_NAME


def report_inputs(campaign: Campaign) -> list[AssetKey]:
    """The keys of the :data:`REPORT_INPUTS` the campaign builds, system by system (only those that exist)."""
    oyama = set(oyama_systems(campaign.systems))
    return [
        AssetKey([system, name])
        for system in campaign.systems
        for name in REPORT_INPUTS
        if name in campaign.asset_names(system) and (system in oyama or name not in OYAMA_ONLY)
    ]


def paper_report_asset(campaign: Campaign, automation: AutomationCondition | None) -> AssetsDefinition:
    """The ``paper_report`` asset of ``campaign``, depending on its :func:`report_inputs`."""
    systems = campaign.systems

    @asset(
        key="paper_report",
        deps=report_inputs(campaign),
        group_name="reports",
        kinds={"html"},
        code_version=REPORT_CODE_VERSION,
        automation_condition=automation,
        description=(
            "One self-contained HTML page regenerating the papers' tables and figures from the warehouse and the "
            "MLflow registry: [O] Table II, §IV C correlations (mean ± SE, n, conditions judged), Fig. 1–4 analogues, "
            "the cooling-rate study, [J]'s χ4, dynamic lengths and S4(q), and the GlassBench type-A scores beside the "
            "test split; each number beside the paper's value and both scales. Same as `python -m glass_assets.report`."
        ),
    )
    @functools.partial(compute_accounting.metered, stage="reports")  # its cost in compute_usage, as every asset's
    def paper_report(
        context: AssetExecutionContext,
        study: StudySettings,
        warehouse: WarehouseResource,
        mlflow_tracking: MLflowResource,
    ) -> MaterializeResult:
        store = warehouse.get()
        path = report_path(study).resolve()
        report = write_report(
            path, store, mlflow_tracking, report_systems(ReportData(store), systems),
            allow_mixed=study.load().provenance.allow_mixed,
        )
        context.log.info(f"paper report written to {path}: {len(report.present)}/{len(report.sections)} sections")
        return MaterializeResult(
            metadata={
                "report": MetadataValue.path(str(path)),
                "open": MetadataValue.url(path.as_uri()),
                "summary": MetadataValue.md(report.summary_markdown()),
                "sections_with_data": len(report.present),
                "sections": len(report.sections),
                "bytes": len(report.html.encode()),
            }
        )

    return paper_report
