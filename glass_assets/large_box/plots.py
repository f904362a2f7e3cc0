"""Figures of the large boxes: overlap with the tiled start (S4(q), its fit: :func:`glass_assets.plots.s4_figure`)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import polars as pl

__all__ = ["overlap_trace_figure"]


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

