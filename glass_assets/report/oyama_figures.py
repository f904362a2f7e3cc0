"""The report's analogues of [O] Figs. 1–4, re-plotted from the warehouse: indicator maps of one glass,
per-configuration correlation violins, and Grad-CAM against the dynamics, C(Γ, 1 − Δ) over the cage clock δ (the
drawings: :mod:`glass_assets.report.figures`)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from glass_assets.plots import correlation_violins, mean_text
from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.report import figures, paper
from glass_assets.report.data import ReportData, quench_scale
from glass_assets.report.html import Section, absent, figure, note, png, table
from glass_assets.report.section_rules import NO_FINDING_CELL, PAPER, guarded, is_finding, no_finding
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED
from glass_core.models.statistics import sample_mean

__all__ = ["dynamics", "indicator_maps", "violins"]


@guarded
def indicator_maps(data: ReportData, systems: Sequence[str]) -> Section:
    """[O] Figs. 1–2: Grad-CAM, Voronoi and Tong–Tanaka fields on one glass."""
    section = Section("[O] Figs. 1–2: indicator maps of one glass", "indicator-maps")
    for system in systems:
        fields = data.query(
            "SELECT g.sample, g.gamma_cg, d.voronoi_area_cg, d.one_minus_theta_cg, p.x, p.y, g.model_version, "
            "g.classifier_status "
            "FROM grad_cam g JOIN descriptors d USING (system, temperature, ensemble, sample, particle) "
            "JOIN particles p USING (system, temperature, ensemble, sample, particle) "
            "WHERE g.system = ? AND g.label = 'glass' AND g.sample = "
            "(SELECT min(sample) FROM grad_cam WHERE system = ? AND label = 'glass') ORDER BY g.particle",
            [system, system],
            needs=("grad_cam", "descriptors", "particles"),
        )
        if fields is None:
            section.add(f"<h3>{system}</h3>", absent(f"grad_cam rows of {system} (asset {system}/grad_cam_scores)"))
            continue
        section.present = True
        sample, version = int(fields["sample"][0]), fields["model_version"][0]
        caption = (
            f"{system} glass, sample {sample}, N = {fields.height}: Γ of {model_name(system)} v{version} (class "
            f"glass), Voronoi area Υ and 1 − Θ, each coarse-grained and min–max normalised [O Figs. 1–2 (a–c)]."
        )
        if fields["classifier_status"][0] != CLASSIFIER_RESOLVED:
            caption += " The CNN is not resolved above the classifier gate: this Γ map is no Grad-CAM finding."
        section.add(figure(figures.indicator_maps(fields, f"{system} glass, sample {sample}"), caption))
    return section


@guarded
def violins(data: ReportData, systems: Sequence[str]) -> Section:
    """[O] Fig. 3: distributions of the per-configuration correlations."""
    section = Section("[O] Fig. 3: per-configuration correlations", "violins")
    for system in systems:
        pearson = data.rows("indicator_correlations", system, "method = 'pearson'")
        if pearson is None:
            section.add(f"<h3>{system}</h3>", absent(f"indicator_correlations of {system}"))
            continue
        section.present = True
        summary = data.rows("indicator_correlation_summary", system, "method = 'pearson'")
        unresolved = frozenset(
            r["pair"] for r in (summary.iter_rows(named=True) if summary is not None else []) if not is_finding(r)
        )
        reference = {
            pair: value
            for pair, value in (paper.OYAMA_ABM_GLASS_MEANS if system == "abm" else {}).items()
            if pair not in unresolved
        }
        caption = (
            f"{system}: Pearson coefficient per configuration ({quench_scale(data, system).text()}); [O] Fig. 3 "
            f"shows {paper.oyama_test_glasses()} glasses per class at {paper.oyama_scale(system)}."
            + (" Grad-CAM pairs left out: classifier unresolved, no Grad-CAM finding." if unresolved else "")
        )
        image = png(
            correlation_violins(pearson, summary, f"{system}: Pearson per configuration", reference, unresolved)
        )
        section.add(figure(image, caption))
    return section


def _propensity_scale(data: ReportData, system: str) -> dict[float, str]:
    """Per run temperature: glasses, replicas and time window of the isoconfigurational runs."""
    rows = data.rows("propensity_summary", system)
    if rows is None:
        return {}
    n = quench_scale(data, system).n_particles
    return {
        t: f"N = {n}, {g['sample'].n_unique()} glasses × {g['n_replicas'].max()} replicas, t ≤ {g['time'].max():g}"
        for (t,), g in rows.group_by(["temperature"])
    }


@guarded
def dynamics(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> Section:
    """[O] Fig. 4: Grad-CAM against the dynamics, C(Γ, 1 − Δ) over the cage clock δ."""
    section = Section("[O] Fig. 4: Grad-CAM against dynamics", "dynamics")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        curves = data.rows("grad_cam_dynamics_curve", system, order="temperature, frame")
        if curves is None:
            section.add(absent(f"grad_cam_dynamics_curve of {system} (asset {system}/grad_cam_dynamics)"))
            continue
        section.present = True
        maxima = data.rows("grad_cam_dynamics_maxima", system)
        resolved = "classifier_status" in curves.columns and (curves["classifier_status"] == CLASSIFIER_RESOLVED).all()
        # [O]'s maximum stands beside the curve only when the CNN behind Γ is resolved above the classifier gate
        reference = paper.OYAMA_DYNAMICS_MAXIMUM.get(system) if resolved else None
        if not resolved:
            section.add(note(f"{system}: {no_finding(tracking, system)}", "error"))
            section.summary.append(f"- {system} C(Γ,1−Δ): {no_finding(tracking, system)}")
        scales = _propensity_scale(data, system)
        rows = []
        for (temperature,), curve in curves.group_by(["temperature"], maintain_order=True):
            defined = curve.drop_nulls("correlation")
            best = defined.sort("correlation", descending=True).row(0, named=True) if defined.height else None
            glasses = None if maxima is None else maxima.filter(pl.col("temperature") == temperature)
            per_glass = glasses["correlation"].to_list() if glasses is not None else []
            mean = sample_mean(per_glass)
            rows.append(
                [
                    temperature,
                    (mean_text(best["correlation"], best["stderr"], best["n"]) if resolved else NO_FINDING_CELL)
                    if best
                    else "—",
                    best["n"] if best else 0,
                    best["cage_clock"] if best else None,
                    mean_text(mean.mean, mean.stderr, mean.n) if resolved else NO_FINDING_CELL,
                    mean.n,
                    curve["cage_clock"].max(),
                    scales.get(temperature, "—"),
                    f"{reference:g} (one glass, at δ ≈ 1)" if reference is not None else "—",
                    paper.propensity_scale(system),
                ]
            )
            if best and resolved:
                best_text = mean_text(best["correlation"], best["stderr"], best["n"])
                section.summary.append(
                    f"- {system} T = {temperature:g}: max of the mean C(Γ,1−Δ) {best_text} (n = {best['n']}) at "
                    f"δ = {best['cage_clock']:.2g}; [O] {reference}"
                )
        columns = [
            "T",
            "max of mean curve ± SE",
            "n",
            "at δ",
            "per-glass maxima, mean ± SE",
            "glasses",
            "largest δ reached",
            "measured at",
            PAPER,
            "paper scale",
        ]
        section.add(table(columns, rows, [PAPER, "paper scale"]))
        title = f"{system}: C(Γ, 1 − Δ) against δ"
        if not resolved:
            title += " — classifier unresolved, no Grad-CAM finding"
        section.add(
            figure(
                figures.dynamics_figure(curves, maxima, reference, title),
                f"{title}; glasses the CNN trained on are left out. [O]: {paper.propensity_scale(system)}.",
            )
        )
    return section
