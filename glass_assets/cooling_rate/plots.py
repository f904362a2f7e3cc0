"""The cooling-rate figure and table: C(1−Θ,Υ), C(Γ,Υ) and C(Γ,1−Θ) against the cooling rate, mean ± SE and n,
beside [O]; the study CNNs' accuracies with n, SE and Wilson interval. Grad-CAM rows of a CNN below the classifier
gate (``classifier_status = 'classifier_unresolved'``) are no finding: the table says so in place of their means and
the figure leaves them out."""

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import PAIR_LABELS, markdown_table, mean_text
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED
from glass_core.learning.correlations import GRAD_CAM_PAIRS, STRUCTURAL_PAIR

__all__ = ["cnn_markdown", "correlation_against_rate", "summary_markdown"]

NO_FINDING = "no Grad-CAM finding (classifier unresolved)"


def _findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows that are findings: every row without a CNN and the Grad-CAM rows of resolved CNNs."""
    if "classifier_status" not in frame.columns:
        return frame
    return frame.filter(pl.col("classifier_status").is_null() | (pl.col("classifier_status") != CLASSIFIER_UNRESOLVED))


#: the panels, left to right: the study's own pair first, then the Grad-CAM pairs
PANELS = (STRUCTURAL_PAIR, *GRAD_CAM_PAIRS)
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
    line per CNN input for the Grad-CAM pairs) on a log rate axis, [O]'s mean as a dashed line at its rate.

    Grad-CAM rows of an unresolved CNN are left out; a panel left with none says "no Grad-CAM finding"."""
    unresolved_inputs = sorted(
        set(summary.filter(pl.col("classifier_status") == CLASSIFIER_UNRESOLVED)["cnn_input"].drop_nulls().to_list())
        if "classifier_status" in summary.columns
        else set()
    )
    summary, correlations = _findings(summary), _findings(correlations)
    pearson = summary.filter(pl.col("method") == "pearson")
    pairs = [p for p in PANELS if p in set(pearson["pair"]) or (unresolved_inputs and p.startswith("gamma"))]
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
        if pair.startswith("gamma") and unresolved_inputs:
            axis.annotate(
                f"{', '.join(unresolved_inputs)} CNN: {NO_FINDING}",
                (0.5, 0.04),
                xycoords="axes fraction",
                ha="center",
                fontsize=7,
                color="tab:red",
            )
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
    """One row per (pair, CNN input, rate, method): mean ± SE, n, glasses, the paper's value, mean E/N ± SE; a
    Grad-CAM row of an unresolved CNN says "no Grad-CAM finding" in place of its mean."""
    rows = summary.sort(["pair", "cnn_input", "method", "cooling_rate"], descending=[True, False, False, True])
    statuses = rows["classifier_status"].to_list() if "classifier_status" in rows.columns else [None] * rows.height
    table = pl.DataFrame(
        {
            "pair": rows["pair"],
            "CNN input": rows["cnn_input"].fill_null("—"),
            "cooling rate": rows["cooling_rate"],
            "method": rows["method"],
            "C mean ± SE": [
                NO_FINDING if status == CLASSIFIER_UNRESOLVED else mean_text(m, s, n)
                for (m, s, n), status in zip(rows.select("mean", "stderr", "n").iter_rows(), statuses, strict=True)
            ],
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


def cnn_markdown(cnns: pl.DataFrame) -> str:
    """The study CNNs' accuracies (rows of ``cooling_rate_cnns``): k/n ± binomial SE, n, Wilson interval (2 SE), the
    gate and whether the CNN is resolved above it."""
    if cnns.height == 0:
        return "no study CNN (cooling_rate_study.cnn_inputs is empty)"
    table = pl.DataFrame(
        {
            "CNN input": cnns["cnn_input"],
            "subset": cnns["subset"],
            "N": cnns["n_particles"],
            "accuracy ± SE": [mean_text(a, s, n) for a, s, n in cnns.select("accuracy", "stderr", "n").iter_rows()],
            "n": cnns["n"],
            "Wilson (2 SE)": [f"{lo:.3f}–{hi:.3f}" for lo, hi in cnns.select("wilson_low", "wilson_high").iter_rows()],
            "gate": cnns["gate_accuracy"],
            "status": cnns["classifier_status"],
        }
    )
    return markdown_table(table) + (
        "\n\nSE = √(p(1 − p)/n), binomial; the gate needs the Wilson lower end of the *validation* accuracy at or "
        "above it. [O]: test accuracy ≥ 0.998 on 600 + 600 images at N = 2000."
    )
