"""Figures and tables of the liquid-versus-glass study (as in Oyama et al. 2023, Figs. 1–3)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import PAIR_LABELS, field_maps, markdown_table, mean_text
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED, ClassifierGate
from glass_core.learning.correlations import ConditionResult
from glass_core.models.statistics import Accuracy, SampleMean


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


def accuracy_markdown(accuracies: dict[str, Accuracy], gate: ClassifierGate) -> str:
    """Every accuracy of a CNN with n, binomial SE and Wilson interval (2 SE), and the gate's verdict."""
    rows = [
        {
            "subset": key.replace("_", " "),
            "accuracy": accuracy.value if accuracy.n else None,
            "± SE": accuracy.stderr,
            "n": accuracy.n,
            "Wilson (2 SE)": "{:.3f}–{:.3f}".format(*accuracy.interval(gate.z)) if accuracy.n else "—",
        }
        for key, accuracy in accuracies.items()
    ]
    frame = pl.DataFrame(rows, schema_overrides={"accuracy": pl.Float64, "± SE": pl.Float64})
    verdict = gate.describe(accuracies["validation"])
    return markdown_table(frame) + (
        f"\n\n{verdict}. SE = √(p(1 − p)/n) (binomial); Wilson score interval at 2 SE. Grad-CAM findings need the "
        f"Wilson lower end of the validation accuracy ≥ cnn.gate_accuracy = {gate.threshold:g}."
    )


def _unresolved(row: dict) -> bool:
    return row.get("classifier_status") == CLASSIFIER_UNRESOLVED


def correlation_summary_markdown(
    summary: pl.DataFrame, system: str, paper_abm_glass: dict[str, float], no_finding: str | None = None
) -> str:
    """Mean ± SE (ddof = 1) and n per (class, pair, method), next to [O]'s ABM glass values and KAM signs.

    ``summary``: rows of ``indicator_correlation_summary``; ``subset`` says which configurations. A Grad-CAM row
    of an unresolved classifier (``classifier_status``) shows ``no_finding`` instead of its mean and no paper value.
    """
    rows = []
    for row in summary.iter_rows(named=True):
        paper = ""
        if _unresolved(row):
            rows.append(
                {
                    "class": row["label"],
                    "pair": PAIR_LABELS[row["pair"]],
                    "method": row["method"],
                    "glasses": row["subset"],
                    "mean ± SE": "no Grad-CAM finding (classifier unresolved)",
                    "sd": None,
                    "n": row["n"],
                    "paper": "",
                }
            )
            continue
        if row["label"] == "glass" and row["method"] == "pearson":
            if system == "abm":
                paper = f"{paper_abm_glass[row['pair']]:.3f}"
            elif system == "kam" and row["pair"] != "one_minus_theta~upsilon":
                paper = "< 0"
        rows.append(
            {
                "class": row["label"],
                "pair": PAIR_LABELS[row["pair"]],
                "method": row["method"],
                "glasses": row["subset"],
                "mean ± SE": mean_text(row["mean"], row["stderr"], row["n"]),
                "sd": row["std"],
                "n": row["n"],
                "paper": paper,
            }
        )
    note = (
        "\n\nSE = sd/√n over configurations (ddof = 1; none for n = 1). `test`: the correctly classified CNN "
        "test configurations; `all`: every configuration of the ensemble (C(1−Θ,Υ) needs no CNN). [O]: 600 "
        "glasses at N = 2000."
    )
    head = f"**{no_finding}**\n\n" if no_finding else ""
    return head + markdown_table(pl.DataFrame(rows, schema_overrides={"sd": pl.Float64})) + note


def conditions_markdown(results: list[ConditionResult], means: dict[str, SampleMean], system: str) -> str:
    """[O]'s statements about the glass means, each judged pass / fail / unresolved (within 2 SE)."""
    if not results:
        return f"[O] states no condition for {system}."

    def escaped(text: str) -> str:  # a literal | would split the Markdown cell
        return text.replace("|", "\\|")

    frame = pl.DataFrame(
        [
            {
                "condition": escaped(r.condition.text),
                "paper": r.condition.paper,
                "glass means (Pearson)": "; ".join(
                    f"{PAIR_LABELS[p]} = {means[p].text()}" if p in means else f"{PAIR_LABELS[p]}: none"
                    for p in r.condition.pairs
                ),
                "D ± SE": mean_text(r.difference, r.stderr, 0 if not np.isfinite(r.difference) else 2),
                "verdict": r.verdict,
            }
            for r in results
        ]
    )
    return markdown_table(frame) + (
        "\n\nEach condition is written D > 0 (a sign: D = ±C; an ordering of magnitudes: D = \\|C_a\\| − "
        "\\|C_b\\|, SE combined as independent). pass: D > 2 SE; fail: D < −2 SE; unresolved: within 2 SE, "
        "or no SE (n = 1). C(·,Θ) = −C(·,1−Θ)."
    )


def particle_maps(particles: pl.DataFrame, fields: pl.DataFrame, title: str) -> plt.Figure:
    """Γ, Υ and 1 − Θ (coarse-grained, normalised) on the particles of one configuration [O Figs. 1–2]."""
    columns = (
        ("gamma_cg", "Γ (Grad-CAM)"),
        ("voronoi_area_cg", "Υ (Voronoi area)"),
        ("one_minus_theta_cg", "1 − Θ (Tong–Tanaka)"),
    )
    x, y = particles["x"].to_numpy(), particles["y"].to_numpy()
    return field_maps(x, y, [(fields[column].to_numpy(), name) for column, name in columns], title)
