"""The cooling-rate figure and table: C(1−Θ,Υ) against the cooling rate, mean ± SE and n, beside [O]."""

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import markdown_table, mean_text

__all__ = ["correlation_against_rate", "summary_markdown"]


def correlation_against_rate(
    summary: pl.DataFrame,
    correlations: pl.DataFrame,
    title: str,
    paper_value: float | None,
    paper_rate: float,
) -> plt.Figure:
    """Pearson C(1−Θ,Υ) per glass (dots) and mean ± SE per rate (error bars, n beside) on a log rate axis, with
    [O]'s mean as a horizontal line and its cooling rate marked."""
    figure, axis = plt.subplots(figsize=(5.8, 4.0))
    glasses = correlations.filter(pl.col("method") == "pearson").drop_nulls("value")
    axis.scatter(glasses["cooling_rate"], glasses["value"], s=9, color="tab:blue", alpha=0.35, label="one glass")
    means = summary.filter(pl.col("method") == "pearson").sort("cooling_rate")
    errors = np.array([np.nan if e is None else e for e in means["stderr"].to_list()], dtype=float)
    centres = np.array([np.nan if m is None else m for m in means["mean"].to_list()], dtype=float)
    axis.errorbar(
        means["cooling_rate"],
        centres,
        yerr=np.nan_to_num(errors),
        fmt="o-",
        color="black",
        capsize=4,
        label="mean ± SE",
    )
    for rate, mean, n in zip(means["cooling_rate"], centres, means["n"], strict=True):
        axis.annotate(f"n = {n}", (rate, mean), textcoords="offset points", xytext=(6, 6), fontsize=8)
    if paper_value is not None:
        axis.axhline(paper_value, color="tab:red", ls="--", label=f"[O]: {paper_value:g} (rate {paper_rate:.3g})")
    axis.axvline(paper_rate, color="tab:red", ls=":", lw=1)
    axis.axhline(0.0, color="grey", lw=0.5)
    axis.set_xscale("log")
    axis.set_xlabel("cooling rate $|dT/dt|$")
    axis.set_ylabel(r"Pearson $C(1-\Theta, \Upsilon)$ per glass")
    axis.set_title(title)
    axis.legend(loc="best", fontsize=8)
    return figure


def summary_markdown(summary: pl.DataFrame) -> str:
    """One row per (rate, method): mean ± SE, n, the paper's value, mean E/N ± SE."""
    rows = summary.sort(["method", "cooling_rate"], descending=[False, True])
    table = pl.DataFrame(
        {
            "cooling rate": rows["cooling_rate"],
            "method": rows["method"],
            "C(1−Θ,Υ) mean ± SE": [mean_text(m, s, n) for m, s, n in rows.select("mean", "stderr", "n").iter_rows()],
            "n": rows["n"],
            "N": rows["n_particles"],
            "[O]": rows["paper_value"],
            "E/N ± SE": [
                mean_text(e, s, n + u, digits=5)
                for e, s, n, u in rows.select("energy_per_particle", "energy_stderr", "n", "n_undefined").iter_rows()
            ],
        }
    )
    return markdown_table(table)
