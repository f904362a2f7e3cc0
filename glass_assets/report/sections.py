"""The report's sections, in the papers' order: [O] Table II and §IV C (:mod:`.oyama_tables`), analogues of [O]
Figs. 1–4 (:mod:`.oyama_figures`), the cooling-rate study (:mod:`.cooling_rate_study`), [J]'s models
(:mod:`.propensity_models`), dynamic heterogeneity and S4(q)/ξ4 (:mod:`.dynamic_heterogeneity`), GlassBench
(:mod:`.glassbench`) and the compute section (:mod:`.compute`).

Every measured number stands beside the paper's (shaded column) and both scales: what it was measured at (N,
cooling rate, glasses, replicas, profile) and what the paper used (the ``paper`` profile). Means carry their
standard error over configurations, SE = sd/√n (ddof = 1, :mod:`glass_core.models.statistics`), and n. A section
whose rows the warehouse (or registry) does not hold says "not materialized yet"; a table that cannot be read
(an older schema) shows its error in the section, and the rest of the page is still written
(:mod:`.section_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence

from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.compute import compute_per_stage
from glass_assets.report.cooling_rate_study import cooling_rates
from glass_assets.report.data import ReportData
from glass_assets.report.dynamic_heterogeneity import four_point, heterogeneity
from glass_assets.report.glassbench import glassbench_outside_test
from glass_assets.report.html import Section
from glass_assets.report.oyama_figures import dynamics, indicator_maps, violins
from glass_assets.report.oyama_tables import correlations, table_ii
from glass_assets.report.propensity_models import held_out_test, model_comparison
from glass_assets.report.section_rules import guarded
from glass_core.models.systems import get_system

__all__ = ["build_sections", "oyama_systems"]


def oyama_systems(systems: Sequence[str]) -> list[str]:
    """The systems of [O]'s liquid/glass study (those with a T_L and a T_G); the rest are [J]'s."""
    return [s for s in systems if "glass" in get_system(s).temperatures]


def build_sections(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> list[Section]:
    """Every section of the report, in the papers' order: [O] for its systems, then [J] for the others."""
    oyama = oyama_systems(systems)
    jung = [s for s in systems if s not in oyama]
    return [
        table_ii(data, tracking, oyama),
        correlations(data, tracking, oyama),
        indicator_maps(data, oyama),
        violins(data, oyama),
        dynamics(data, tracking, oyama),
        cooling_rates(data, oyama),
        guarded(model_comparison)(data, jung),
        guarded(held_out_test)(data, jung),
        heterogeneity(data, jung),
        four_point(data, jung),
        guarded(glassbench_outside_test)(data, jung),
        compute_per_stage(data),
    ]
