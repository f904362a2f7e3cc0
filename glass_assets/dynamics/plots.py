"""Figures of the dynamics: relaxation curves, and Grad-CAM against dynamics [O Fig. 4]."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import field_maps, markdown_table, mean_text
from glass_core.models.statistics import SampleMean, sample_mean


def relaxation_figure(mean_curve: pl.DataFrame, title: str) -> plt.Figure:
    """⟨C_B⟩(t) and the cage clock δ(t): means over the configurations ± SE (bands), n in the title.

    ``mean_curve`` has columns time, mean_bond_breaking, cage_clock and, optionally, their ``*_stderr`` and n.
    """
    figure, (bonds, clock) = plt.subplots(1, 2, figsize=(8, 3.2))
    time = mean_curve["time"].to_numpy()
    keep = time > 0
    for axis, column in ((bonds, "mean_bond_breaking"), (clock, "cage_clock")):
        y = mean_curve[column].to_numpy()[keep]
        axis.plot(time[keep], y, marker="o", ms=3)
        if f"{column}_stderr" in mean_curve.columns:
            se = mean_curve[f"{column}_stderr"].fill_null(0.0).to_numpy()[keep]
            axis.fill_between(time[keep], y - se, y + se, alpha=0.3, lw=0)
        axis.set_xscale("log")
        axis.set_xlabel("t")
    bonds.axhline(1 / 2.718281828, color="grey", lw=0.6, ls="--", label="1/e (τ_α)")
    bonds.set_ylabel("⟨C_B⟩ (all particles)")
    bonds.legend(fontsize=8)
    clock.set_yscale("log")
    clock.set_ylabel("δ(t)")
    n = f" (n = {int(mean_curve['n'].max())}, mean ± SE)" if "n" in mean_curve.columns else ""
    figure.suptitle(title + n)
    figure.tight_layout()
    return figure


def correlation_against_clock(
    curves: pl.DataFrame, maxima: pl.DataFrame, paper_maximum: float | None, title: str
) -> plt.Figure:
    """Left: mean C(Γ, 1−Δ) ± SE against δ(t), one line per run temperature [O Fig. 4]. Right: each glass's
    maximum over δ (points) with their mean ± SE, beside the maximum of the mean curve (open diamond)."""
    figure, (axis, strip) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    temperatures = sorted(set(curves["temperature"].to_list()))
    colours = {t: f"C{k}" for k, t in enumerate(temperatures)}
    for (temperature,), group in (
        curves.drop_nulls("correlation").sort("cage_clock").group_by(["temperature"], maintain_order=True)
    ):
        x, y = group["cage_clock"].to_numpy(), group["correlation"].to_numpy()
        se = group["stderr"].fill_null(0.0).to_numpy()
        n = int(group["n"].max())
        axis.semilogx(x, y, marker="o", ms=3, color=colours[temperature], label=f"T = {temperature} (n = {n})")
        axis.fill_between(x, y - se, y + se, color=colours[temperature], alpha=0.25, lw=0)
    if paper_maximum is not None:
        axis.axhline(paper_maximum, color="black", ls="--", lw=0.8, label=f"paper maximum {paper_maximum}")
        strip.axhline(paper_maximum, color="black", ls="--", lw=0.8)
    axis.set_xlabel("δ(t)")
    axis.set_ylabel("C(Γ, 1 − Δ)  (mean ± SE)")
    axis.set_title(title)
    axis.legend(fontsize=7)
    rng = np.random.default_rng(0)
    for k, temperature in enumerate(temperatures):
        values = maxima.filter(pl.col("temperature") == temperature)["correlation"].to_numpy()
        strip.scatter(k + rng.uniform(-0.15, 0.15, values.size), values, s=10, color=colours[temperature], alpha=0.7)
        mean = sample_mean(values)
        if mean.stderr is not None:
            strip.errorbar(k + 0.3, mean.mean, yerr=mean.stderr, fmt="o", color="black", ms=4, capsize=3)
        at_t = curves.filter(pl.col("temperature") == temperature).drop_nulls("correlation")
        if at_t.height:
            strip.scatter(k + 0.3, at_t["correlation"].max(), marker="D", facecolor="none", edgecolor="black")
    strip.set_xticks(range(len(temperatures)), [f"T = {t}" for t in temperatures])
    strip.set_xlim(-0.5, len(temperatures) - 0.3)
    strip.set_ylabel("max over δ of C(Γ, 1 − Δ)")
    strip.set_title("per glass; ● mean ± SE, ◇ mean curve", fontsize=8)
    figure.tight_layout()
    return figure


def maxima_markdown(best: dict, maxima_by_temperature: dict[float, SampleMean], paper: float | None) -> str:
    """The maximum of the mean curve beside the mean ± SE of the per-glass maxima, per run temperature."""
    rows = [
        {
            "statistic": "max of the mean curve",
            "T": best["temperature"],
            "value": mean_text(best["correlation"], best["stderr"], best["n"]),
            "n": best["n"],
            "δ": best["cage_clock"],
        }
    ]
    for temperature, mean in sorted(maxima_by_temperature.items()):
        rows.append(
            {
                "statistic": "mean of per-glass maxima",
                "T": temperature,
                "value": mean_text(mean.mean, mean.stderr, mean.n),
                "n": mean.n,
                "δ": None,
            }
        )
    table = markdown_table(pl.DataFrame(rows, schema_overrides={"δ": pl.Float64}))
    return table + f"\n\n[O] Fig. 4: {paper} (the maximum of one glass's curve, N = 2000). SE = sd/√n, ddof = 1."


def dynamics_maps(x, y, gamma, one_minus_delta, title: str) -> plt.Figure:  # noqa: ANN001 - arrays
    """Γ beside 1 − Δ on the particles of one glass [O Fig. 4 insets]."""
    return field_maps(x, y, [(gamma, "Γ (Grad-CAM)"), (one_minus_delta, "1 − Δ (dynamics)")], title)
