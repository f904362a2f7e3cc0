"""Figures of dynamic heterogeneity: χ4 against time, attention distributions, the per-system paper figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

__all__ = ["attention_figure", "chi4_time_figure", "summary_figure"]

#: MD filled markers and solid lines, ML open markers and dashed lines, everywhere
STYLE = {
    "md": {"marker": "o", "linestyle": "-", "fillstyle": "full", "label": "MD"},
    "ml": {"marker": "s", "linestyle": "--", "fillstyle": "none", "label": "tGlassMLP"},
}
#: the χ4 panel's third series: the MD χ4 of the R → ∞ propensity (less the labels' thermal remainder)
CHI4_STYLE = {**STYLE, "md_configurational": {"marker": "D", "linestyle": ":", "fillstyle": "full",
                                              "label": "MD, R → ∞ (configurational)"}}
LENGTH_PANELS = (
    ("xi4", r"$\xi_4$ (OZ fit of $S_4(q)$)"),
    ("chord", r"chord length $\ell_{ch}$"),
    ("attention", r"attention length $\langle L\rangle$"),
)


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


def _random_field_line(axis: plt.Axes, lengths: pl.DataFrame) -> None:
    """The random-field ℓ_ch of each temperature (the floor of a correlated field), a grey band ± 2 SE."""
    reference = (
        lengths.filter((pl.col("source") == "random_field") & pl.col("value").is_not_null())
        .group_by("temperature").agg(pl.col("value").mean(), pl.col("stderr").mean()).sort("temperature")
    )
    if reference.height == 0:
        return
    inverse = 1.0 / reference["temperature"].to_numpy()
    value, error = reference["value"].to_numpy(), 2 * reference["stderr"].fill_null(0.0).to_numpy()
    axis.plot(inverse, value, color="grey", lw=1.5, label="random field")
    axis.fill_between(inverse, value - error, value + error, color="grey", alpha=0.25, lw=0)


def _length_panel(axis: plt.Axes, lengths: pl.DataFrame, length: str, label: str, colours: dict) -> None:
    if length == "chord":
        _random_field_line(axis, lengths)
    rows = lengths.filter(
        (pl.col("length") == length) & pl.col("value").is_not_null() & (pl.col("source") != "random_field")
    )
    if rows.height == 0:
        axis.text(0.5, 0.5, f"no {length} rows yet", ha="center", va="center", transform=axis.transAxes, color="grey")
    for (source, target), part in rows.sort("temperature").group_by(["source", "target_cb"], maintain_order=True):
        style = STYLE.get(source, STYLE["ml"])
        error = part["stderr"].fill_null(0.0)
        if "network_spread" in part.columns:  # tGlassMLP: [J]'s spread over networks beside the configurations'
            error = (error**2 + part["network_spread"].fill_null(0.0) ** 2).sqrt()
        axis.errorbar(
            1.0 / part["temperature"].to_numpy(),
            part["value"],
            yerr=error,
            color=colours[target],
            marker=style["marker"],
            fillstyle=style["fillstyle"],
            linestyle=style["linestyle"],
            ms=5,
            capsize=2,
            lw=1,
        )
    unresolved = lengths.filter((pl.col("length") == length) & ~pl.col("resolved").fill_null(True)).height
    if unresolved:
        axis.text(
            0.02,
            0.95,
            f"{unresolved} fit(s) unresolved, not shown",
            transform=axis.transAxes,
            fontsize=7,
            va="top",
            color="tab:red",
        )
    axis.set_xlabel("$1/T$")
    axis.set_ylabel(f"{label} ($\\sigma$)")


def _chi4_panel(axis: plt.Axes, chi4: pl.DataFrame) -> None:
    temperatures = sorted(set(chi4["temperature"].to_list()))
    cmap = plt.get_cmap("plasma")  # no pale middle: every temperature's curve is equally visible
    for k, temperature in enumerate(temperatures):
        colour = cmap(0.85 * k / max(len(temperatures) - 1, 1))
        label = f"T = {temperature:g}"
        for source in CHI4_STYLE:
            part = chi4.filter((pl.col("temperature") == temperature) & (pl.col("source") == source)).sort("target_cb")
            if part.height:
                style = CHI4_STYLE[source]
                error = part["stderr"].fill_null(0.0)
                if "network_spread" in part.columns:
                    error = (error**2 + part["network_spread"].fill_null(0.0) ** 2).sqrt()
                axis.errorbar(
                    part["target_cb"],
                    part["value"],
                    yerr=error,
                    color=colour,
                    marker=style["marker"],
                    fillstyle=style["fillstyle"],
                    linestyle=style["linestyle"],
                    ms=5,
                    capsize=2,
                    lw=1,
                    label=label,
                )
                label = None  # one legend entry per temperature
    if temperatures:
        axis.legend(fontsize=6, ncol=2)
    else:
        axis.text(0.5, 0.5, "no χ4 rows yet", ha="center", va="center", transform=axis.transAxes, color="grey")
    axis.set_xlabel(r"state point $\langle C_B\rangle$")
    axis.set_ylabel(r"$\chi_4$ (configurational)")
    axis.set_title(r"$\chi_4$ against $\langle C_B\rangle$ (time runs right)", fontsize=9)
    axis.invert_xaxis()


def summary_figure(lengths: pl.DataFrame, chi4: pl.DataFrame, title: str) -> plt.Figure:
    """[J]-style figure: ξ4, ℓ_ch and ⟨L⟩ against 1/T (colour = state point ⟨C_B⟩; MD filled circles and
    solid lines, tGlassMLP open squares and dashed lines), and χ4 against ⟨C_B⟩ at every temperature."""
    figure, axes = plt.subplots(2, 2, figsize=(9.5, 7.5))
    targets = sorted(set(lengths["target_cb"].to_list())) if lengths.height else []
    cmap = plt.get_cmap("viridis")
    colours = {t: cmap(k / max(len(targets) - 1, 1)) for k, t in enumerate(targets)}
    for axis, (length, label) in zip(axes.ravel()[:3], LENGTH_PANELS, strict=True):
        _length_panel(axis, lengths, length, label, colours)
        axis.set_title(label, fontsize=9)
    _chi4_panel(axes[1][1], chi4)
    handles = [
        plt.Line2D(
            [],
            [],
            color="black",
            marker=s["marker"],
            fillstyle=s["fillstyle"],
            linestyle=s["linestyle"],
            label=s["label"],
        )
        for s in CHI4_STYLE.values()
    ] + [plt.Line2D([], [], color="grey", lw=1.5, label="random field (ℓ_ch floor)")] + [
        plt.Line2D([], [], color=c, lw=3, label=f"⟨C_B⟩ = {t:g}") for t, c in colours.items()
    ]
    figure.suptitle(title, y=0.995)
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.965),
        ncol=min(len(handles), 7),
        fontsize=7,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    return figure
