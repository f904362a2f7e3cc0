"""Figures of the dynamics: relaxation curves, and Grad-CAM against dynamics [O Fig. 4]."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402


def relaxation_figure(mean_curve: pl.DataFrame, title: str) -> plt.Figure:
    """⟨C_B⟩(t) and the cage clock δ(t), ensemble means."""
    figure, (bonds, clock) = plt.subplots(1, 2, figsize=(8, 3.2))
    time = mean_curve["time"].to_numpy()
    keep = time > 0
    bonds.semilogx(time[keep], mean_curve["mean_bond_breaking"].to_numpy()[keep], marker="o", ms=3)
    bonds.axhline(1 / 2.718281828, color="grey", lw=0.6, ls="--", label="1/e")
    bonds.set_xlabel("t")
    bonds.set_ylabel("⟨C_B⟩")
    bonds.legend(fontsize=8)
    clock.loglog(time[keep], mean_curve["cage_clock"].to_numpy()[keep], marker="o", ms=3)
    clock.set_xlabel("t")
    clock.set_ylabel("δ(t)")
    figure.suptitle(title)
    figure.tight_layout()
    return figure
