"""Figures and tables of the propensity-learning study, for Dagster metadata and MLflow."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import markdown_table  # shared; re-exported for this domain's callers

__all__ = ["descriptor_profiles", "markdown_table", "propensity_maps", "score_table_figure", "transfer_figure"]


def descriptor_profiles(features: np.ndarray, names: list[str], title: str) -> plt.Figure:
    """Mean ± standard deviation over particles of each observable (all-particle channel) against L."""
    observables = sorted({n.split("_")[0] for n in names})
    figure, axes = plt.subplots(1, len(observables), figsize=(3.2 * len(observables), 3.0))
    for axis, observable in zip(np.atleast_1d(axes), observables, strict=True):
        columns = [(float(n.split("_L")[-1]), i) for i, n in enumerate(names) if n.startswith(f"{observable}_all_")]
        columns.sort()
        lengths = [c[0] for c in columns]
        values = features[:, [c[1] for c in columns]]
        axis.errorbar(lengths, values.mean(axis=0), yerr=values.std(axis=0), marker="o", ms=3, capsize=2)
        axis.set_xlabel("coarse-graining length $L$")
        axis.set_title(f"{observable} (all)", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def propensity_maps(
    positions: np.ndarray, box: tuple[float, float], panels: dict[str, np.ndarray], title: str
) -> plt.Figure:
    """Particles coloured by each field of ``panels`` (e.g. MD labels and predictions), one panel each."""
    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6))
    for axis, (name, values) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        scatter = axis.scatter(positions[:, 0], positions[:, 1], c=values, s=12, cmap="viridis", vmin=0, vmax=1)
        axis.set_xlim(0, box[0])
        axis.set_ylim(0, box[1])
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(name, fontsize=9)
    figure.colorbar(scatter, ax=np.atleast_1d(axes).tolist(), shrink=0.8, label="bond-breaking propensity")
    figure.suptitle(title, fontsize=10)
    return figure


def score_table_figure(scores: pl.DataFrame, title: str) -> plt.Figure:
    """Test Pearson against ⟨C_B⟩ per temperature for each predictor (type A), with standard errors."""
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    subset = scores.filter((pl.col("split") == "test") & (pl.col("subset") == "A"))
    markers = {"glassmlp": "o", "tglassmlp": "s", "ceiling": "_"}
    for (predictor, temperature), rows in subset.sort("target_cb").group_by(
        ["predictor", "temperature"], maintain_order=True
    ):
        kind = "best descriptor" if str(predictor).startswith("best_descriptor") else str(predictor)
        axis.errorbar(
            rows["target_cb"],
            rows["pearson"],
            yerr=rows["stderr"].fill_null(0.0),
            marker=markers.get(str(predictor), "^"),
            ls="-" if predictor == "tglassmlp" else ":",
            capsize=2,
            label=f"{kind}, T = {temperature}",
        )
    axis.set_xlabel(r"state point $\langle C_B \rangle$")
    axis.set_ylabel("Pearson (test, type A)")
    axis.invert_xaxis()
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=6, ncol=2)
    return figure


def transfer_figure(table: pl.DataFrame, context: pl.DataFrame, title: str) -> plt.Figure:
    """χ4 and ℓ_ch against 1/T: MD at every labelled temperature (filled, from ``dynamic_heterogeneity`` where it
    ran), MD at the held-out temperature (filled, ringed) and the held-out tGlassMLP prediction (open, error bar:
    configurations ⊕ networks), the random-field ℓ_ch (grey); one colour per ⟨C_B⟩."""
    figure, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    targets = sorted(set(table["target_cb"].to_list()))
    cmap = plt.get_cmap("viridis")
    colours = {t: cmap(0.9 * k / max(len(targets) - 1, 1)) for k, t in enumerate(targets)}
    for axis, observable, label in ((axes[0], "chi4", r"$\chi_4$ (configurational)"),
                                    (axes[1], "chord_length", r"chord length $\ell_{ch}$ ($\sigma$)")):
        if context.height:
            for (target,), rows in context.filter(pl.col("observable") == observable).sort("temperature").group_by(
                    ["target_cb"], maintain_order=True):
                if target in colours:
                    axis.errorbar(1 / rows["temperature"].to_numpy(), rows["value"], yerr=rows["stderr"].fill_null(0),
                                  color=colours[target], marker="o", ms=4, lw=1, capsize=2)
        rows = table.filter(pl.col("observable") == observable)
        if rows.filter(pl.col("source") == "md_configurational").height:  # the R → ∞ χ4 where known
            rows = rows.filter(pl.col("source") != "md")
        for row in rows.iter_rows(named=True):
            if row["value"] is None:
                continue
            x = 1 / row["held_out_temperature"]
            error = np.hypot(row["stderr"] or 0.0, row["network_spread"] or 0.0)
            if row["source"] == "ml":
                axis.errorbar(x, row["value"], yerr=error, color=colours[row["target_cb"]], marker="s", ms=8,
                              fillstyle="none", capsize=3, lw=1.5)
            elif row["source"] in ("md", "md_configurational"):
                axis.errorbar(x, row["value"], yerr=error, color=colours[row["target_cb"]], marker="o", ms=6,
                              markeredgecolor="black", capsize=2, lw=1)
            else:
                axis.errorbar(x, row["value"], yerr=error, color="grey", marker="_", ms=14, capsize=2)
        axis.set_xlabel("$1/T$")
        axis.set_ylabel(label)
    handles = [plt.Line2D([], [], color=c, lw=3, label=f"⟨C_B⟩ = {t:g}") for t, c in colours.items()]
    handles += [
        plt.Line2D([], [], color="black", marker="o", lw=1, label="MD (χ4: R → ∞ part)"),
        plt.Line2D([], [], color="black", marker="s", fillstyle="none", ms=8, lw=0, label="held out: tGlassMLP"),
        plt.Line2D([], [], color="grey", marker="_", ms=14, lw=0, label="random field"),
    ]
    axes[1].legend(handles=handles, fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
