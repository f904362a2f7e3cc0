"""The report's [J] dynamic-heterogeneity sections: χ4 and the dynamic lengths against temperature and ⟨C_B⟩
(MD beside tGlassMLP), and S4(q) with its length ξ4 on large boxes."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from glass_assets.plots import heterogeneity_figure, mean_text, s4_figure
from glass_assets.report import paper
from glass_assets.report.data import ReportData, swap_mc_scale
from glass_assets.report.html import Section, absent, figure, note, png, table
from glass_assets.report.section_rules import guarded

__all__ = ["four_point", "heterogeneity", "value_text"]


@guarded
def heterogeneity(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: dynamic heterogeneity, χ4 and the dynamic lengths."""
    section = Section("[J] Dynamic heterogeneity: χ4 and dynamic lengths", "heterogeneity")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        lengths = data.rows("dynamic_lengths", system, order="length, source, temperature, target_cb")
        chi4 = data.rows("heterogeneity", system, "observable = 'chi4' AND target_cb IS NOT NULL")
        if lengths is None and chi4 is None:
            section.add(absent(f"dynamic_lengths and heterogeneity of {system} (asset {system}/heterogeneity_summary)"))
            continue
        section.present = True
        section.add(note(f"Measured at: {swap_mc_scale(data, system)}. Paper: {paper.j_scale()}. {paper.J_TRENDS}"))
        if lengths is not None:
            section.add(_lengths_table(lengths))
        if chi4 is not None:
            section.add(table(["T", "source", "peak χ4 ± SE", "at ⟨C_B⟩", "configurations"], _chi4_peaks(chi4)))
        section.add(
            figure(
                png(heterogeneity_figure(lengths, chi4, f"{system}: dynamic heterogeneity [J]")),
                f"{system}: lengths against 1/T and χ4 against ⟨C_B⟩; MD filled, tGlassMLP open.",
            )
        )
    return section


def value_text(value: float | None, error: float | None) -> str:
    """``"1.23 ± 0.045"`` for a value with its error (SE or fit error), ``"—"`` without a value."""
    return mean_text(value, error, 1)


def _lengths_table(lengths: pl.DataFrame) -> str:
    """One row per (length, source, T), one column per state point ⟨C_B⟩: value ± SE (σ); ``unresolved`` where a
    fit found no length; n = configurations behind the row (none for attention: networks, not configurations)."""
    targets = sorted(set(lengths["target_cb"].to_list()), reverse=True)
    rows = []
    for (length, source, temperature), group in lengths.group_by(
        ["length", "source", "temperature"], maintain_order=True
    ):
        cells = {r["target_cb"]: r for r in group.iter_rows(named=True)}
        values = [
            ("unresolved" if cells[t]["value"] is None else value_text(cells[t]["value"], cells[t]["stderr"]))
            if t in cells
            else "—"
            for t in targets
        ]
        n = group["n_configurations"].drop_nulls()
        rows.append([length, source, temperature, *values, int(n.max()) if n.len() else None])
    columns = ["length", "source", "T", *(f"⟨C_B⟩ = {t:g}" for t in targets), "configurations"]
    return table(columns, rows)


def _chi4_peaks(chi4: pl.DataFrame) -> list[list[object]]:
    """Per (T, source): the largest χ4 over the state points, with its SE, ⟨C_B⟩ and configurations."""
    rows = []
    for (temperature, source), group in chi4.sort("temperature", "source").group_by(
        ["temperature", "source"], maintain_order=True
    ):
        peak = group.sort("value", descending=True).row(0, named=True)
        rows.append(
            [
                temperature,
                source,
                mean_text(peak["value"], peak["stderr"], peak["n_configurations"]),
                peak["target_cb"],
                peak["n_configurations"],
            ]
        )
    return rows


@guarded
def four_point(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: S4(q) on large boxes and the length ξ4."""
    section = Section("[J] S4(q) and ξ4 on large boxes", "four-point")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        s4 = data.rows("four_point_structure_factor", system)
        if s4 is None:
            section.add(absent(f"four_point_structure_factor of {system} (asset {system}/four_point_structure_factor)"))
            continue
        section.present = True
        boxes = data.rows("samples", system, "ensemble = 'large_swap_mc'")
        measured = f"{boxes.height} boxes of N = {boxes['n_particles'].max()}" if boxes is not None else "unknown"
        section.add(note(f"Measured at: {measured}. Paper: {paper.large_box_scale()}."))
        xi4 = data.rows("dynamic_lengths", system, "length = 'xi4'", order="temperature, target_cb")
        if xi4 is not None:
            rows = [
                [
                    r["temperature"],
                    r["target_cb"],
                    r["source"],
                    value_text(r["value"], r["stderr"]),
                    f"{r['fit_q_min']:.3g}–{r['fit_q_max']:.3g}" if r["fit_q_min"] is not None else "—",
                    {True: "yes", False: "no"}.get(r["resolved"], "—"),
                    r["reason"],
                ]
                for r in xi4.iter_rows(named=True)
            ]
            section.add(
                table(["T", "⟨C_B⟩", "source", "ξ4 ± fit error (σ)", "fit q range", "resolved", "reason"], rows)
            )
        section.add(
            figure(
                png(s4_figure(s4, f"{system}: S4(q) of the predicted propensity")),
                f"{system}: S4(q) ± SE over boxes ({measured}); ξ4 from the Ornstein–Zernike fit.",
            )
        )
    return section
