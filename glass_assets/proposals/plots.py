"""The proposals figure: what limits the predictions at each temperature, and where the candidates act."""

import matplotlib.pyplot as plt
import polars as pl

from glass_core.learning.campaign_gain import CampaignState, ErrorModel, distance

__all__ = ["proposals_figure"]

ACTION_COLOURS = {
    "label_temperature": "tab:red", "extend_window": "tab:orange", "add_configurations": "tab:green",
    "add_equilibria": "tab:blue",
}  # fmt: skip


def proposals_figure(state: CampaignState, model: ErrorModel, table: pl.DataFrame, title: str) -> plt.Figure:
    """Left: measured relative network spread and bootstrap SE of χ4 against T (mean over ⟨C_B⟩), the modelled
    transfer error e_tr(x) and the held-out measurement; right: the candidates' gain per CPU-hour at their T."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    temps = sorted({p.temperature for p in state.points})

    def by_temperature(value) -> list[float]:  # noqa: ANN001 - a function of one state point
        """Mean of ``value`` over the ⟨C_B⟩ of each temperature."""
        return [sum(value(p) for p in state.points if p.temperature == t)
                / sum(1 for p in state.points if p.temperature == t) for t in temps]

    spread = by_temperature(lambda p: p.relative_spread)
    se = by_temperature(lambda p: p.relative_se)
    transfer = by_temperature(lambda p: model.transfer(distance(p.temperature, p.target_cb, state.md_reached)))
    left.plot(temps, spread, "o-", label="network spread / χ4 (measured)")
    left.plot(temps, se, "s-", label="bootstrap SE / χ4 (measured)")
    left.plot(temps, transfer, "^--", label="transfer error e_tr(x) (model)")
    for t in state.md_reached:
        left.axvline(t, color="0.85", zorder=0)
    if state.held_out is not None:
        left.annotate(f"held-out error {state.held_out[1]:.2f} at x = {state.held_out[0]:.2f}",
                      xy=(0.02, 0.95), xycoords="axes fraction", va="top", fontsize=8)
    left.set_xlabel("T (grey: MD-labelled)")
    left.set_ylabel("relative error of predicted χ4")
    left.legend(fontsize=7)
    for action, colour in ACTION_COLOURS.items():
        rows = table.filter(pl.col("action") == action)
        if rows.height:
            right.scatter(rows["temperature"], rows["gain_per_cpu_hour"], color=colour, label=action, s=40)
    top = table.head(1)
    if top.height:
        right.scatter(top["temperature"], top["gain_per_cpu_hour"], facecolors="none", edgecolors="k", s=160,
                      label="rank 1")
    right.set_xlabel("T of the action")
    right.set_ylabel("predicted gain ΔE² per CPU-hour")
    right.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
