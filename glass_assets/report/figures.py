"""The report's figures, re-plotted from warehouse rows: analogues of [O] Figs. 1–4 and [J]'s heterogeneity figures.

Each function takes the rows it draws and returns PNG bytes (:func:`glass_assets.report.html.png`); every error
bar is the stored standard error over configurations (sd/√n, ddof = 1) or, for fits, the stored fit error.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from glass_assets.plots import field_maps  # noqa: E402
from glass_assets.report.html import png  # noqa: E402
from glass_core.models.statistics import sample_mean  # noqa: E402

__all__ = [
    "PAIR_LABELS",
    "temperature_colours",
    "cooling_rate_figure",
    "correlation_violins",
    "dynamics_figure",
    "heterogeneity_figure",
    "indicator_maps",
    "s4_figure",
]

PAIR_LABELS = {"gamma~upsilon": "C(Γ, Υ)", "gamma~one_minus_theta": "C(Γ, 1−Θ)", "one_minus_theta~upsilon": "C(1−Θ, Υ)"}
CLASSES = (("glass", "tab:blue", -0.18), ("liquid", "tab:orange", 0.18))


def indicator_maps(fields: pl.DataFrame, title: str) -> bytes:
    """[O] Figs. 1–2 (a–c): Γ̄, Ῡ and 1 − Θ̄ (coarse-grained, normalised) on the particles of one glass.

    ``fields``: one configuration's rows with x, y, gamma_cg, voronoi_area_cg, one_minus_theta_cg."""
    panels = [
        (fields["gamma_cg"].to_numpy(), "Γ (Grad-CAM)"),
        (fields["voronoi_area_cg"].to_numpy(), "Υ (Voronoi area)"),
        (fields["one_minus_theta_cg"].fill_null(np.nan).to_numpy(), "1 − Θ (Tong–Tanaka)"),
    ]
    return png(field_maps(fields["x"].to_numpy(), fields["y"].to_numpy(), panels, title))


def correlation_violins(
    pearson: pl.DataFrame,
    summary: pl.DataFrame | None,
    paper: dict[str, float],
    title: str,
    unresolved_pairs: frozenset[str] = frozenset(),
) -> bytes:
    """[O] Fig. 3: per-configuration Pearson coefficients, glass and liquid side by side (violin + points), with
    the stored mean ± SE (black) and n; [O]'s glass means as red crosses where it gives them. A pair of
    ``unresolved_pairs`` (Grad-CAM of a classifier below the gate) is not drawn: its slot says "no Grad-CAM
    finding", and no [O] value stands there."""
    fig, axis = plt.subplots(figsize=(7.5, 3.8))
    rng = np.random.default_rng(0)
    for k, pair in enumerate(PAIR_LABELS):
        if pair in unresolved_pairs:
            axis.annotate("no Grad-CAM finding\n(classifier unresolved)", (k, 0.0), ha="center", fontsize=7)
            continue
        for label, colour, offset in CLASSES:
            values = pearson.filter((pl.col("pair") == pair) & (pl.col("label") == label))["value"].drop_nulls()
            values = values.drop_nans().to_numpy()
            if values.size > 1:
                body = axis.violinplot([values], positions=[k + offset], widths=0.32, showextrema=False)["bodies"][0]
                body.set_facecolor(colour)
            axis.scatter(k + offset + rng.uniform(-0.05, 0.05, values.size), values, s=4, color=colour, alpha=0.6)
            stats = None if summary is None else summary.filter((pl.col("pair") == pair) & (pl.col("label") == label))
            if stats is not None and stats.height and stats["n"][0] > 0 and stats["mean"][0] is not None:
                axis.errorbar(
                    k + offset, stats["mean"][0], yerr=stats["stderr"][0], fmt="o", color="k", ms=3, capsize=3
                )
                axis.annotate(f"n={stats['n'][0]}", (k + offset, -1.1), ha="center", fontsize=7)
        if pair in paper:
            axis.scatter(k - 0.18, paper[pair], marker="x", color="red", s=50, zorder=5)
    axis.axhline(0.0, color="grey", lw=0.5)
    axis.set_ylim(-1.15, 1.05)
    axis.set_xticks(range(len(PAIR_LABELS)), list(PAIR_LABELS.values()))
    axis.set_ylabel("Pearson correlation per configuration")
    axis.set_title(f"{title}\nblue: glass, orange: liquid; ● mean ± SE; red ×: [O]", fontsize=9)
    return png(fig)


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


def temperature_colours(temperatures: list[float]) -> dict[float, tuple[float, float, float, float]]:
    """One colour per temperature, the coldest darkest: plasma from 0 (dark violet) to 0.8 (orange), never its pale
    yellow end. χ4 grows as T falls, so the largest curve is the darkest, never the faintest (a default colour cycle
    drew it in grey)."""
    ordered = sorted(set(temperatures))
    cmap = plt.get_cmap("plasma")
    return {t: cmap(0.8 * k / max(len(ordered) - 1, 1)) for k, t in enumerate(ordered)}


LENGTHS = (("xi4", "ξ4 (OZ fit of S4(q))"), ("chord", "chord length ℓ_ch"), ("attention", "attention length ⟨L⟩"))


def heterogeneity_figure(lengths: pl.DataFrame | None, chi4: pl.DataFrame | None, title: str) -> bytes:
    """[J]: ξ4, ℓ_ch and ⟨L⟩ against 1/T (MD filled circles and solid lines, tGlassMLP open squares and dashed
    lines, colour = state point ⟨C_B⟩; unresolved fits left out) and the configurational χ4 against ⟨C_B⟩ at every
    temperature."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    shown = lengths.drop_nulls("value") if lengths is not None else None
    targets = sorted(set(shown["target_cb"].to_list())) if shown is not None else []
    colours = {t: plt.get_cmap("viridis")(k / max(len(targets) - 1, 1)) for k, t in enumerate(targets)}
    for axis, (length, label) in zip(axes.ravel()[:3], LENGTHS, strict=True):
        rows = shown.filter(pl.col("length") == length) if shown is not None else None
        if rows is None or rows.height == 0:
            axis.text(0.5, 0.5, f"no {length} rows", ha="center", va="center", transform=axis.transAxes, color="grey")
        else:
            for (source, target), part in rows.sort("temperature").group_by(
                ["source", "target_cb"], maintain_order=True
            ):
                axis.errorbar(
                    1 / part["temperature"].to_numpy(),
                    part["value"],
                    yerr=part["stderr"].fill_null(0.0),
                    **_style(source),
                    color=colours[target],
                    ms=4,
                    capsize=2,
                    lw=0.8,
                )
        axis.set_xlabel("1/T")
        axis.set_ylabel(f"{label} (σ)")
        axis.set_title(label, fontsize=9)
    right = axes[1][1]
    if chi4 is not None:
        shades = temperature_colours(chi4["temperature"].to_list())
        for (temperature, source), rows in chi4.sort("temperature", "target_cb").group_by(
            ["temperature", "source"], maintain_order=True
        ):
            right.errorbar(
                rows["target_cb"],
                rows["value"],
                yerr=rows["stderr"].fill_null(0.0),
                **_style(source),
                color=shades[temperature],
                ms=4,
                capsize=2,
                lw=0.8,
                label=f"T = {temperature:g} {source}",
            )
        right.legend(fontsize=6, ncol=2)
        right.invert_xaxis()
    right.set_xlabel("state point ⟨C_B⟩ (time runs right)")
    right.set_ylabel("χ4 (configurational)")
    right.set_title("χ4 against ⟨C_B⟩", fontsize=9)
    handles = [plt.Line2D([], [], color="k", **_style(s), label=n) for s, n in (("md", "MD"), ("ml", "tGlassMLP"))]
    handles += [plt.Line2D([], [], color=c, lw=3, label=f"⟨C_B⟩ = {t:g}") for t, c in colours.items()]
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.965),
        ncol=min(len(handles), 8),
        fontsize=7,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return png(fig)


def _style(source: str) -> dict[str, str]:
    """MD: filled circles, solid lines; tGlassMLP (``ml``): open squares, dashed lines."""
    if source == "md":
        return {"marker": "o", "fillstyle": "full", "linestyle": "-"}
    return {"marker": "s", "fillstyle": "none", "linestyle": "--"}


def s4_figure(s4: pl.DataFrame, title: str) -> bytes:
    """[J]: S4(q) of the predicted propensity on the large boxes, ± SE over boxes, one line per (T, ⟨C_B⟩)."""
    fig, axis = plt.subplots(figsize=(5.5, 3.8))
    for (temperature, target), rows in s4.sort("q").group_by(["temperature", "target_cb"], maintain_order=True):
        axis.errorbar(
            rows["q"],
            rows["s4"],
            yerr=rows["stderr"].fill_null(0.0),
            marker="o",
            ms=3,
            capsize=2,
            label=f"T = {temperature:g}, ⟨C_B⟩ = {target:g}",
        )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("q (σ⁻¹)")
    axis.set_ylabel("S4(q)")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=6)
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
