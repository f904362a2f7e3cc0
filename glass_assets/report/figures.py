"""The report's figures, re-plotted from warehouse rows: analogues of [O] Figs. 1–4 and [J]'s heterogeneity figures.

Each function takes the rows it draws and returns PNG bytes (:func:`glass_assets.report.html.png`); the figures the
domains draw too (the violins of [O] Fig. 3, S4(q)) are :mod:`glass_assets.plots`' own, wrapped in ``png``. Every error
bar is the stored standard error over configurations (sd/√n, ddof = 1) or, for fits, the stored fit error.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.ticker import NullFormatter

from glass_assets.plots import PAIR_LABELS, field_maps
from glass_assets.report.html import png
from glass_core.models.statistics import sample_mean

__all__ = [
    "cooling_rate_figure",
    "dynamics_figure",
    "indicator_maps",
]


def indicator_maps(fields: pl.DataFrame, title: str) -> bytes:
    """[O] Figs. 1–2 (a–c): Γ̄, Ῡ and 1 − Θ̄ (coarse-grained, normalised) on the particles of one glass.

    ``fields``: one configuration's rows with x, y, gamma_cg, voronoi_area_cg, one_minus_theta_cg."""
    panels = [
        (fields["gamma_cg"].to_numpy(), "Γ (Grad-CAM)"),
        (fields["voronoi_area_cg"].to_numpy(), "Υ (Voronoi area)"),
        (fields["one_minus_theta_cg"].fill_null(np.nan).to_numpy(), "1 − Θ (Tong–Tanaka)"),
    ]
    return png(field_maps(fields["x"].to_numpy(), fields["y"].to_numpy(), panels, title))


def dynamics_figure(curves: pl.DataFrame, maxima: pl.DataFrame | None, paper: float | None, title: str) -> bytes:
    """[O] Fig. 4: mean C(Γ, 1 − Δ) against δ(t) with its SE band per run temperature (left); each glass's maximum
    over δ with their mean ± SE and the maximum of the mean curve ◇ (right); [O]'s maximum dashed."""
    fig, (axis, strip) = plt.subplots(1, 2, figsize=(9.5, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    temperatures = sorted(set(curves["temperature"].to_list()))
    rng = np.random.default_rng(0)
    for k, temperature in enumerate(temperatures):
        rows = curves.filter(pl.col("temperature") == temperature).drop_nulls("correlation").sort("cage_clock")
        x, y, se = (rows[c].to_numpy() for c in ("cage_clock", "correlation", "stderr"))
        se = np.nan_to_num(se.astype(float))
        axis.semilogx(x, y, marker="o", ms=3, color=f"C{k}", label=f"T = {temperature:g} (n ≤ {rows['n'].max()})")
        axis.fill_between(x, y - se, y + se, color=f"C{k}", alpha=0.25, lw=0)
        if rows.height:
            strip.scatter(k + 0.3, rows["correlation"].max(), marker="D", facecolor="none", edgecolor="k", zorder=4)
        at_t = None if maxima is None else maxima.filter(pl.col("temperature") == temperature)
        values = np.array([]) if at_t is None else at_t["correlation"].to_numpy()
        strip.scatter(k + rng.uniform(-0.15, 0.15, values.size), values, s=10, color=f"C{k}", alpha=0.7)
        mean = sample_mean(values)
        if mean.stderr is not None:
            strip.errorbar(k + 0.3, mean.mean, yerr=mean.stderr, fmt="o", color="k", capsize=3)
    if paper is not None:
        for ax in (axis, strip):
            ax.axhline(paper, color="k", ls="--", lw=0.8, label=f"[O] maximum {paper:g}" if ax is axis else None)
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("cage clock δ(t)")
    axis.set_ylabel("C(Γ, 1 − Δ), mean ± SE")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    strip.set_xticks(range(len(temperatures)), [f"T = {t:g}" for t in temperatures])
    strip.set_xlim(-0.5, len(temperatures) - 0.2)
    strip.set_ylabel("max over δ per glass")
    strip.set_title("● mean ± SE of the glasses' maxima, ◇ mean curve", fontsize=8)
    fig.tight_layout()
    return png(fig)


def cooling_rate_figure(summary: pl.DataFrame, title: str) -> bytes:
    """Pearson C against the quench's cooling rate (mean ± SE over glasses), one line per (pair, CNN input); [O]'s
    value and cooling rate as a red cross where the rows carry them. Grad-CAM lines of a CNN not resolved above the
    classifier gate (``classifier_status``) are left out: they are no finding."""
    fig, axis = plt.subplots(figsize=(6.0, 4.0))
    if "cnn_input" not in summary.columns:  # rows written before the study had CNNs
        summary = summary.with_columns(pl.lit(None, dtype=pl.String).alias("cnn_input"))
    if "classifier_status" not in summary.columns:  # rows written before the classifier gate
        summary = summary.with_columns(pl.lit(None, dtype=pl.String).alias("classifier_status"))
    left_out = summary.filter(
        pl.col("cnn_input").is_not_null() & (pl.col("classifier_status") != "resolved").fill_null(True)
    )
    summary = summary.filter(pl.col("cnn_input").is_null() | (pl.col("classifier_status") == "resolved"))
    if left_out.height:
        inputs = ", ".join(sorted(set(left_out["cnn_input"].to_list())))
        title += f"\n({inputs} CNN left out: classifier unresolved, no Grad-CAM finding)"
    pearson = summary.filter(pl.col("method") == "pearson").sort("cooling_rate")
    for (pair, cnn_input), rows in pearson.group_by(["pair", "cnn_input"], maintain_order=True):
        axis.errorbar(
            rows["cooling_rate"],
            rows["mean"],
            yerr=rows["stderr"].fill_null(0.0),
            marker="o",
            capsize=3,
            label=PAIR_LABELS.get(pair, pair) + ("" if cnn_input is None else f" ({cnn_input} CNN)"),
        )
    paper = pearson.drop_nulls(["paper_value", "paper_cooling_rate"]).unique(["pair", "paper_value"])
    if paper.height:
        axis.scatter(paper["paper_cooling_rate"], paper["paper_value"], marker="x", color="red", s=60, label="[O]")
    axis.set_xscale("log")
    axis.axhline(0.0, color="grey", lw=0.5)
    axis.set_xlabel("cooling rate |dT/dt|")
    axis.set_ylabel("mean C over glasses ± SE")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    return png(fig)
