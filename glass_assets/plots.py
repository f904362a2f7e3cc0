"""Figures attached to materializations: PNG files a user can open, embedded as Markdown metadata."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from dagster import MetadataValue  # noqa: E402

__all__ = ["cooling_curve_figure", "figure_metadata", "markdown_table", "mean_text", "stderr_metadata"]


def figure_metadata(figure: plt.Figure, path: Path) -> dict[str, MetadataValue]:
    """Save ``figure`` to ``path`` (PNG) and return metadata entries: the file path and the inline image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return {
        "plot": MetadataValue.md(f"![{path.stem}](data:image/png;base64,{encoded})"),
        "plot_file": MetadataValue.path(str(path)),
    }


def markdown_table(frame: pl.DataFrame, digits: int = 3) -> str:
    """A polars frame as a Markdown table (floats to ``digits`` significant figures, NULL and NaN as —)."""
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "—" if not np.isfinite(value) else f"{value:.{digits}g}"
        return "—" if value is None else str(value)

    return header + "\n".join("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows())


def stderr_metadata(stderr: float | None) -> MetadataValue:
    """A standard error as metadata: the float, or an explicit null when it is undefined (n < 2)."""
    return MetadataValue.null() if stderr is None else MetadataValue.float(float(stderr))


def mean_text(mean: float | None, stderr: float | None, n: int, digits: int = 3) -> str:
    """``"0.123 ± 0.045"``, ``"0.4 (no SE)"`` for n = 1, ``"—"`` for n = 0 (n is shown in its own column)."""
    if n == 0 or mean is None or not np.isfinite(mean):
        return "—"
    if stderr is None:
        return f"{mean:.{digits}g} (no SE)"
    return f"{mean:.{digits}g} ± {stderr:.2g}"


def cooling_curve_figure(curves: pl.DataFrame, title: str) -> plt.Figure:
    """Potential energy per particle against the thermostat set point during cooling, every sample."""
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    cooling = curves.filter(pl.col("phase") == "cool")
    for (_,), sample in cooling.group_by(["sample"], maintain_order=True):
        axis.plot(sample["t_set"], sample["energy_per_particle"], lw=0.5, alpha=0.35, color="tab:blue")
    mean = cooling.group_by("step").agg(pl.col("t_set").mean(), pl.col("energy_per_particle").mean()).sort("step")
    axis.plot(mean["t_set"], mean["energy_per_particle"], color="black", lw=1.5, label="ensemble mean")
    axis.set_xlabel("thermostat temperature $T$")
    axis.set_ylabel("potential energy per particle $E/N$")
    axis.set_title(title)
    axis.invert_xaxis()
    axis.legend(loc="best", fontsize=8)
    return figure


def field_maps(x: np.ndarray, y: np.ndarray, fields: list[tuple[np.ndarray, str]], title: str) -> plt.Figure:
    """Per-particle fields in [0, 1] side by side on the particle positions, one panel each, one colour scale."""
    figure, axes = plt.subplots(1, len(fields), figsize=(4 * len(fields), 4), squeeze=False)
    size = 4000.0 / max(len(x), 1)
    for axis, (values, name) in zip(axes[0], fields, strict=True):
        points = axis.scatter(x, y, c=values, s=size, cmap="viridis", vmin=0, vmax=1)
        axis.set_aspect("equal")
        axis.set_title(name)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(points, ax=axes[0].tolist(), shrink=0.8)
    figure.suptitle(title)
    return figure
