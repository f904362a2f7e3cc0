"""Figures and tables of the liquid-versus-glass study (as in Oyama et al. 2023, Figs. 1–3)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from glass_assets.plots import field_maps  # noqa: E402

PAIR_LABELS = {"gamma~upsilon": "C(Γ, Υ)", "gamma~one_minus_theta": "C(Γ, 1−Θ)", "one_minus_theta~upsilon": "C(1−Θ, Υ)"}


def training_curves(history: list, title: str) -> plt.Figure:
    """Loss and accuracy per epoch, train and validation."""
    epochs = [r.epoch for r in history]
    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(8, 3.2))
    loss.plot(epochs, [r.train_loss for r in history], label="train")
    loss.plot(epochs, [r.validation_loss for r in history], label="validation")
    loss.set_xlabel("epoch")
    loss.set_ylabel("cross-entropy")
    loss.set_yscale("log")
    accuracy.plot(epochs, [r.train_accuracy for r in history], label="train")
    accuracy.plot(epochs, [r.validation_accuracy for r in history], label="validation")
    accuracy.set_xlabel("epoch")
    accuracy.set_ylabel("accuracy")
    accuracy.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def confusion_markdown(confusion: np.ndarray) -> str:
    """Confusion matrix as a Markdown table (rows: true class)."""
    lines = ["| true \\ predicted | liquid | glass |", "|---|---|---|"]
    lines += [f"| {name} | {confusion[i, 0]} | {confusion[i, 1]} |" for i, name in enumerate(("liquid", "glass"))]
    return "\n".join(lines)


def correlation_summary_markdown(summary: pl.DataFrame, system: str, paper_abm_glass: dict[str, float]) -> str:
    """Mean ± std per (class, pair, method), next to [O]'s ABM glass values and KAM sign pattern."""
    lines = ["| class | pair | method | mean | std | n | paper |", "|---|---|---|---|---|---|---|"]
    for row in summary.iter_rows(named=True):
        paper = ""
        if row["label"] == "glass" and row["method"] == "pearson":
            if system == "abm":
                paper = f"{paper_abm_glass[row['pair']]:.3f}"
            elif system == "kam" and row["pair"] != "one_minus_theta~upsilon":
                paper = "< 0"
        std = row["std"] if row["std"] is not None else float("nan")
        lines.append(
            f"| {row['label']} | {PAIR_LABELS[row['pair']]} | {row['method']} | {row['mean']:.3f} | "
            f"{std:.3f} | {row['n']} | {paper} |"
        )
    if system == "kam":
        lines.append("\n[O] KAM glasses: C(Γ,Υ) < 0, C(Γ,1−Θ) < 0 and |C(Γ,Υ)| > |C(Γ,Θ)|.")
    return "\n".join(lines)


def correlation_violins(pearson: pl.DataFrame, title: str) -> plt.Figure:
    """Distributions of per-configuration correlations, glass and liquid side by side [O Fig. 3]."""
    figure, axis = plt.subplots(figsize=(7, 3.6))
    positions, data, colours, ticks = [], [], [], []
    for k, pair in enumerate(PAIR_LABELS):
        for offset, (label, colour) in zip(
            (-0.18, 0.18), (("glass", "tab:blue"), ("liquid", "tab:orange")), strict=True
        ):
            values = pearson.filter((pl.col("pair") == pair) & (pl.col("label") == label))["value"].drop_nans()
            if values.len() > 1:
                positions.append(k + offset)
                data.append(values.to_numpy())
                colours.append(colour)
        ticks.append(PAIR_LABELS[pair])
    if data:
        parts = axis.violinplot(data, positions=positions, widths=0.32, showmeans=True)
        for body, colour in zip(parts["bodies"], colours, strict=True):
            body.set_facecolor(colour)
    axis.axhline(0.0, color="grey", lw=0.5)
    axis.set_xticks(range(len(ticks)), ticks)
    axis.set_ylabel("Pearson correlation")
    axis.set_title(f"{title} (blue: glass, orange: liquid)")
    return figure


def particle_maps(particles: pl.DataFrame, fields: pl.DataFrame, title: str) -> plt.Figure:
    """Γ, Υ and 1 − Θ (coarse-grained, normalised) on the particles of one configuration [O Figs. 1–2]."""
    columns = (
        ("gamma_cg", "Γ (Grad-CAM)"),
        ("voronoi_area_cg", "Υ (Voronoi area)"),
        ("one_minus_theta_cg", "1 − Θ (Tong–Tanaka)"),
    )
    x, y = particles["x"].to_numpy(), particles["y"].to_numpy()
    return field_maps(x, y, [(fields[column].to_numpy(), name) for column, name in columns], title)
