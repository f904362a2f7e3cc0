"""The cooling-rate figure and table: C(1−Θ,Υ), C(Γ,Υ) and C(Γ,1−Θ) against the cooling rate, mean ± SE and n,
beside [O]."""

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import markdown_table, mean_text

__all__ = ["correlation_against_rate", "summary_markdown"]

PAIR_LABELS = {
    "one_minus_theta~upsilon": r"$C(1-\Theta, \Upsilon)$",
    "gamma~upsilon": r"$C(\Gamma, \Upsilon)$",
    "gamma~one_minus_theta": r"$C(\Gamma, 1-\Theta)$",
}
INPUT_COLOURS = {None: "black", "density": "tab:green", "per_type": "tab:purple"}


def _floats(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _mean_line(axis: plt.Axes, means: pl.DataFrame, cnn_input: str | None) -> None:
    """Mean ± SE against the rate, with n beside each point."""
    centres = _floats(means["mean"].to_list())
    label = "mean ± SE" if cnn_input is None else f"{cnn_input} input: mean ± SE"
    colour = INPUT_COLOURS.get(cnn_input, "tab:orange")
    axis.errorbar(
        means["cooling_rate"],
        centres,
        yerr=np.nan_to_num(_floats(means["stderr"].to_list())),
        fmt="o-",
        color=colour,
        capsize=4,
        label=label,
    )
    for rate, mean, n in zip(means["cooling_rate"], centres, means["n"], strict=True):
        axis.annotate(f"n = {n}", (rate, mean), textcoords="offset points", xytext=(6, 6), fontsize=7, color=colour)


def correlation_against_rate(
    summary: pl.DataFrame,
    correlations: pl.DataFrame,
    title: str,
    paper_means: dict[str, float],
    paper_rate: float,
) -> plt.Figure:
    """One panel per pair of the summary: Pearson C per glass (dots), mean ± SE per rate (error bars, n beside; one
    line per CNN input for the Grad-CAM pairs) on a log rate axis, [O]'s mean as a dashed line at its rate."""
    pearson = summary.filter(pl.col("method") == "pearson")
    pairs = [p for p in PAIR_LABELS if p in set(pearson["pair"])]
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4.0), squeeze=False, sharey=True)
    for axis, pair in zip(axes[0], pairs, strict=True):
        glasses = correlations.filter((pl.col("method") == "pearson") & (pl.col("pair") == pair)).drop_nulls("value")
        for (cnn_input,), rows in glasses.group_by(["cnn_input"], maintain_order=True):
            axis.scatter(
                rows["cooling_rate"], rows["value"], s=8, alpha=0.3, color=INPUT_COLOURS.get(cnn_input, "tab:orange")
            )
        for (cnn_input,), means in (
            pearson.filter(pl.col("pair") == pair).sort("cooling_rate").group_by(["cnn_input"], maintain_order=True)
        ):
            _mean_line(axis, means, cnn_input)
        if pair in paper_means:
            axis.axhline(paper_means[pair], color="tab:red", ls="--", label=f"[O]: {paper_means[pair]:g}")
        axis.axvline(paper_rate, color="tab:red", ls=":", lw=1, label=f"[O]'s rate {paper_rate:.3g}")
        axis.axhline(0.0, color="grey", lw=0.5)
        axis.set_xscale("log")
        axis.set_xlabel("cooling rate $|dT/dt|$")
        axis.set_title(PAIR_LABELS[pair] + " (Pearson, per glass)", fontsize=9)
        axis.legend(loc="best", fontsize=7)
    axes[0][0].set_ylabel("C")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def summary_markdown(summary: pl.DataFrame) -> str:
    """One row per (pair, CNN input, rate, method): mean ± SE, n, glasses, the paper's value, mean E/N ± SE."""
    rows = summary.sort(["pair", "cnn_input", "method", "cooling_rate"], descending=[True, False, False, True])
    table = pl.DataFrame(
        {
            "pair": rows["pair"],
            "CNN input": rows["cnn_input"].fill_null("—"),
            "cooling rate": rows["cooling_rate"],
            "method": rows["method"],
            "C mean ± SE": [mean_text(m, s, n) for m, s, n in rows.select("mean", "stderr", "n").iter_rows()],
            "n": rows["n"],
            "glasses (classified as glass)": [
                f"{g}" if c is None else f"{g} ({c})"
                for g, c in rows.select("n_glasses", "n_classified_glass").iter_rows()
            ],
            "N": rows["n_particles"],
            "[O]": rows["paper_value"],
            "E/N ± SE": [
                mean_text(e, s, g, digits=5)
                for e, s, g in rows.select("energy_per_particle", "energy_stderr", "n_glasses").iter_rows()
            ],
        }
    )
    return markdown_table(table)
