"""Build the paper report from the warehouse and the registry, and write it as one HTML file."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from glass_assets.provenance import MixedSettingsError, mixed_settings
from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.data import ReportData
from glass_assets.report.html import ABSENT, Section, page
from glass_assets.report.sections import build_sections
from glass_assets.warehouse import Warehouse
from glass_core.files import atomic_write_text

__all__ = ["REPORT_NAME", "Report", "build_report", "report_systems", "write_report"]

REPORT_NAME = "paper_report.html"
TITLE = "Paper report: Oyama et al. 2023 [O] and Jung, Biroli & Berthier 2024 [J], reproduced"


@dataclass(frozen=True)
class Report:
    """The written page, its sections and where it lies."""

    path: Path
    html: str
    sections: list[Section]

    @property
    def present(self) -> list[str]:
        return [s.title for s in self.sections if s.present]

    def summary_markdown(self) -> str:
        """A few lines for the Dagster metadata: each section present or not, and its headline numbers."""
        lines = [f"**{len(self.present)} of {len(self.sections)} sections** with data; report: `{self.path}`", ""]
        for section in self.sections:
            lines.append(f"- {section.title}: {'✓' if section.present else ABSENT}")
        headlines = [line for s in self.sections for line in s.summary]
        return "\n".join(lines + (["", "Headline numbers (mean ± SE):", *headlines] if headlines else []))


def report_systems(data: ReportData, campaign_systems: Sequence[str] = ()) -> list[str]:
    """The campaign's systems, then any other system the warehouse holds configurations of."""
    return list(dict.fromkeys([*campaign_systems, *data.systems()]))


def build_report(store: Warehouse, tracking: MLflowResource, systems: Sequence[str]) -> tuple[str, list[Section]]:
    """The page's HTML and its sections for ``systems`` (see :mod:`glass_assets.report.sections`)."""
    data = ReportData(store)
    sections = build_sections(data, tracking, systems)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = [
        f"Generated {now} from the warehouse {store.path} and the MLflow registry {tracking.tracking_uri}; "
        f"systems: {', '.join(systems) or 'none'}.",
        "Each measured number stands beside the paper's value (shaded) and both scales: what it was measured at "
        "(N, cooling rate, glasses, replicas, profile) and what the paper used (the 'paper' profile). Means are "
        "over configurations with their standard error SE = sd/√n (ddof = 1) and n.",
        "[O] Oyama, Koyama, Kawasaki, Front. Phys. 10 (2023), arXiv:2208.00349. [J] Jung, Biroli, Berthier, "
        "arXiv:2310.20252.",
    ]
    return page(TITLE, intro, sections), sections


def write_report(
    path: Path, store: Warehouse, tracking: MLflowResource, systems: Sequence[str], allow_mixed: Sequence[str] = ()
) -> Report:
    """Build the report and write it to ``path`` atomically (a reader never sees half a page).

    Refuses (:class:`~glass_assets.provenance.MixedSettingsError`, nothing written) when the warehouse's row sets of
    one system were computed with different profile settings (:func:`~glass_assets.provenance.mixed_settings`),
    unless ``allow_mixed`` (the profile's ``provenance.allow_mixed``) covers them."""
    if store.path.exists():
        conflicts = mixed_settings(store.row_set_records().values(), systems, allow_mixed)
        if conflicts:
            raise MixedSettingsError(
                f"the paper report would combine rows computed with different profile settings (warehouse "
                f"{store.path}): " + "; ".join(conflicts) + ". Rematerialize the stale assets, or list the settings "
                "under provenance.allow_mixed of the profile if the mix is intended."
            )
    html, sections = build_report(store, tracking, systems)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, html)
    path.chmod(0o644)  # a page to open and share, not a private scratch file
    return Report(path, html, sections)
