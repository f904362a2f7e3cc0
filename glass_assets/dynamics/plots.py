"""Figures of the dynamics: relaxation curves, and Grad-CAM against dynamics [O Fig. 4]."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from glass_assets.plots import field_maps  # noqa: E402


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


def correlation_against_clock(curves: pl.DataFrame, paper_maximum: float | None, title: str) -> plt.Figure:
    """Mean C(Γ, 1−Δ) against δ(t), one line per run temperature [O Fig. 4]."""
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    for (temperature,), group in curves.sort("cage_clock").group_by(["temperature"], maintain_order=True):
        axis.semilogx(group["cage_clock"], group["correlation"], marker="o", ms=3, label=f"T = {temperature}")
    if paper_maximum is not None:
        axis.axhline(paper_maximum, color="black", ls="--", lw=0.8, label=f"paper maximum {paper_maximum}")
    axis.set_xlabel("δ(t)")
    axis.set_ylabel("C(Γ, 1 − Δ)")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure


def dynamics_maps(x, y, gamma, one_minus_delta, title: str) -> plt.Figure:  # noqa: ANN001 - arrays
    """Γ beside 1 − Δ on the particles of one glass [O Fig. 4 insets]."""
    return field_maps(x, y, [(gamma, "Γ (Grad-CAM)"), (one_minus_delta, "1 − Δ (dynamics)")], title)
