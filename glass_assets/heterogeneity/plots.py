"""Figures of dynamic heterogeneity: χ4 against time, attention distributions (the per-system paper figure is
:func:`glass_assets.plots.heterogeneity_figure`, the report's too)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl

__all__ = ["attention_figure", "chi4_time_figure"]


def chi4_time_figure(rows: pl.DataFrame, title: str) -> plt.Figure:
    """MD χ4(t) of the bond-breaking propensity: configurational part and, where R ≥ 2, the full χ4."""
    figure, axis = plt.subplots(figsize=(5.0, 3.6))
    labels = {"chi4": "configurational (propensity)", "chi4_full": "full (thermal + configurational)"}
    for observable, label in labels.items():
        part = rows.filter((pl.col("observable") == observable) & (pl.col("time") > 0)).sort("time")
        if part.height:
            axis.errorbar(
                part["time"],
                part["value"],
                yerr=part["stderr"].fill_null(0.0),
                marker="o",
                ms=3,
                capsize=2,
                label=label,
            )
    axis.set_xscale("log")
    axis.set_xlabel("time $t$ (LJ)")
    axis.set_ylabel(r"$\chi_4(t)$")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    return figure


def attention_figure(distributions: pl.DataFrame, title: str) -> plt.Figure:
    """P(L) of the champion tGlassMLP at every state point: one panel per temperature, one line per ⟨C_B⟩."""
    temperatures = sorted(set(distributions["temperature"].to_list()))
    figure, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 3.0), squeeze=False)
    for axis, temperature in zip(axes[0], temperatures, strict=True):
        at_t = distributions.filter(pl.col("temperature") == temperature)
        for (target,), rows in at_t.sort("coarse_graining_length").group_by(["target_cb"], maintain_order=True):
            axis.errorbar(
                rows["coarse_graining_length"],
                rows["probability"],
                yerr=rows["spread"],
                marker="o",
                ms=3,
                capsize=2,
                label=f"⟨C_B⟩ = {target:g}",
            )
        axis.set_xlabel("coarse-graining length $L$")
        axis.set_title(f"T = {temperature:g}", fontsize=9)
    axes[0][0].set_ylabel("$P(L)$")
    axes[0][-1].legend(fontsize=6)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
