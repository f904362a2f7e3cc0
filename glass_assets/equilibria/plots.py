"""Energy traces of swap-MC chains."""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl


def energy_trace_figure(traces: pl.DataFrame, equilibration_sweeps: int, title: str) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for (chain,), rows in traces.sort("sweep").group_by(["chain"], maintain_order=True):
        axis.plot(rows["sweep"], rows["energy_per_particle"], lw=0.6, label=f"chain {chain}")
    axis.axvline(equilibration_sweeps, color="grey", ls="--", lw=0.8, label="end of equilibration")
    axis.set_xscale("symlog", linthresh=100)
    axis.set_xlabel("sweeps")
    axis.set_ylabel("E/N")
    axis.set_title(title)
    axis.legend(fontsize=7)
    return figure
