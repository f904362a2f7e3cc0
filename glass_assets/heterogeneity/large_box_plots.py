"""Figures of the large boxes (overlap with the tiled start) and of S4(q) with its Ornstein–Zernike fit."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

__all__ = ["overlap_trace_figure", "s4_figure"]


def overlap_trace_figure(traces: pl.DataFrame, title: str) -> plt.Figure:
    """Self overlap Q with the tiled start against swap-MC sweeps, one line per box, with Q = 1/e."""
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    for (sample,), rows in traces.sort("sweep").group_by(["sample"], maintain_order=True):
        axis.plot(rows["sweep"], rows["overlap"], marker=".", lw=0.8, label=f"tiled from sample {sample}")
    axis.axhline(math.exp(-1.0), color="grey", ls="--", lw=0.8, label="1/e")
    axis.set_xlabel("swap-MC sweeps")
    axis.set_ylabel("overlap $Q$ with the tiled start")
    axis.set_ylim(0, 1.02)
    axis.set_title(title)
    axis.legend(fontsize=7)
    return figure


def s4_figure(s4: pl.DataFrame, fits: dict[float, tuple[float, float, float, float, bool]], title: str) -> plt.Figure:
    """S4(q) per target ⟨C_B⟩ (log–log, error bars over boxes) with each Ornstein–Zernike curve on its fit range.

    ``fits``: target → (S4(0), ξ4, A, q_fit_max, resolved); unresolved fits are drawn dashed.
    """
    figure, axis = plt.subplots(figsize=(6, 4.2))
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(fits), 1)))
    for colour, ((target,), rows) in zip(
        colours, s4.sort("q").group_by(["target_cb"], maintain_order=True), strict=False
    ):
        errors = rows["stderr"].fill_null(0.0).to_numpy()
        axis.errorbar(rows["q"], rows["s4"], yerr=errors, fmt="o", ms=3, color=colour, label=f"⟨C_B⟩ = {target:g}")
        s0, xi, a, q_fit, resolved = fits[target]
        if np.isfinite(s0) and np.isfinite(xi):
            q = np.linspace(float(rows["q"].min()), q_fit, 100)
            axis.plot(q, s0 / (1 + (q * xi) ** 2 + a * (q * xi) ** 3), color=colour, ls="-" if resolved else "--")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel(r"$q$ ($\sigma^{-1}$)")
    axis.set_ylabel(r"$S_4(q)$")
    axis.set_title(title)
    axis.legend(fontsize=7)
    return figure
