"""The report's cooling-rate study section: C(1−Θ,Υ), and C(Γ,Υ), C(Γ,1−Θ) per CNN input, of [O]'s glasses
against the cooling rate, with the study's CNNs and their classifier gate."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from glass_assets.plots import PAIR_LABELS, mean_text
from glass_assets.report import figures
from glass_assets.report.data import ReportData
from glass_assets.report.html import Section, absent, figure, note, table
from glass_assets.report.section_rules import NO_FINDING_CELL, PAPER, guarded, is_finding
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED, no_finding_text
from glass_core.models.statistics import Accuracy

__all__ = ["cooling_rates"]


def _glass_count(row: dict) -> str:
    """Glasses at the rate, and for a CNN pair how many the CNN classified as glass (older rows: unknown)."""
    if row.get("n_glasses") is None:
        return "?"
    classified = row.get("n_classified_glass")
    return f"{row['n_glasses']}" if classified is None else f"{row['n_glasses']} ({classified})"


@guarded
def cooling_rates(data: ReportData, systems: Sequence[str]) -> Section:
    """Cooling-rate study: C(1−Θ,Υ), and C(Γ,Υ), C(Γ,1−Θ) per CNN input, of the glasses against the cooling rate."""
    section = Section("Cooling-rate study: correlations against the cooling rate", "cooling-rates")
    for system in systems:
        summary = data.rows("cooling_rate_summary", system, order="pair DESC, cnn_input, method, cooling_rate DESC")
        if summary is None:
            where = f"asset {system}/cooling_rate_study, campaign stage cooling_rate_study: true"
            section.add(f"<h3>{system}</h3>", absent(f"cooling_rate_summary of {system} ({where})"))
            continue
        section.present = True
        section.add(f"<h3>{system}</h3>")
        cnns = data.rows("cooling_rate_cnns", system, order="cnn_input, subset")
        if cnns is not None:
            section.add(_study_cnn_table(cnns))
            for r in cnns.filter(pl.col("subset") == "validation").iter_rows(named=True):
                accuracy = Accuracy(int(r["n_correct"]), int(r["n"]))
                status = "" if r["classifier_status"] == CLASSIFIER_RESOLVED else f" — {no_finding_text(accuracy)}"
                section.summary.append(
                    f"- {system} study CNN {r['cnn_input']} (N = {r['n_particles']}): validation accuracy "
                    f"{accuracy.text()}, gate {r['gate_accuracy']:g}{status}"
                )
        rows = [
            [
                r["cooling_rate"],
                PAIR_LABELS.get(r["pair"], r["pair"]),
                r.get("cnn_input") or "—",
                r["method"],
                r["n_particles"],
                mean_text(r["mean"], r["stderr"], r["n"]) if is_finding(r) else NO_FINDING_CELL,
                r["n"],
                _glass_count(r),
                r["paper_value"] if is_finding(r) else None,
                r["paper_cooling_rate"],
            ]
            for r in summary.iter_rows(named=True)
        ]
        columns = [
            "cooling rate",
            "pair",
            "CNN input",
            "method",
            "N",
            "mean ± SE",
            "n",
            "glasses (classified as glass)",
            PAPER,
            "paper cooling rate",
        ]
        section.add(table(columns, rows, [PAPER, "paper cooling rate"]))
        section.add(
            figure(
                figures.cooling_rate_figure(summary, f"{system}: C against the cooling rate"),
                f"{system}: Pearson mean over glasses ± SE at each cooling rate (Grad-CAM pairs: one line per CNN "
                "input resolved above the classifier gate, glasses classified as glass); [O] (red ×) at its rate.",
            )
        )
    return section


def _study_cnn_table(cnns: pl.DataFrame) -> str:
    """The cooling-rate study's CNNs: accuracy k/n ± binomial SE, n, Wilson interval, gate and verdict."""
    rows = [
        [
            r["cnn_input"],
            r["subset"],
            r["n_particles"],
            Accuracy(int(r["n_correct"]), int(r["n"])).text(),
            r["n"],
            r["gate_accuracy"],
            r["classifier_status"],
        ]
        for r in cnns.iter_rows(named=True)
    ]
    columns = ["CNN input", "subset", "N (training box)", "accuracy ± SE (n; Wilson 2 SE)", "n", "gate", "status"]
    return table(columns, rows) + note(
        "Study CNNs: trained on the T_L / T_G quench ensembles; Grad-CAM correlations of a CNN whose validation "
        "accuracy is not resolved above the gate are shown as 'no Grad-CAM finding'. [O]: test accuracy ≥ 0.998."
    )
