"""Figures attached to materializations: PNG files a user can open, embedded as Markdown metadata."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import quote

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from dagster import MetadataValue  # noqa: E402

__all__ = [
    "PROJECT_ROOT",
    "cooling_curve_figure",
    "figure_metadata",
    "markdown_table",
    "mean_text",
    "project_path",
    "served_figure_metadata",
    "stderr_metadata",
    "value_with_error",
]

#: the project folder (the repository root): figure paths in metadata are relative to it
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def figure_metadata(figure: plt.Figure, path: Path) -> dict[str, MetadataValue]:
    """Save ``figure`` to ``path`` (PNG) and return metadata entries: the inline image and the file.

    ``plot`` is the image itself (Markdown with the PNG inline: one click, *[Show Markdown]*, on the asset page);
    ``plot_file`` is where the PNG lies, relative to the project folder when it is inside it
    (``data/plots/quenched_ensembles/abm_T2.0.png``), so it reads the same on every machine that checks the project
    out; a file outside the project (``GLASS_SCRATCH`` elsewhere, a test's temporary folder) keeps its absolute path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return {
        "plot": MetadataValue.md(f"![{path.stem}](data:image/png;base64,{encoded})"),
        "plot_file": MetadataValue.path(project_path(path)),
    }


def served_figure_metadata(ui_url: str, run_id: str, artifact: str, title: str) -> dict[str, MetadataValue]:
    """``figure``: a figure the MLflow server serves (an artifact of run ``run_id``) as a Markdown image.

    Dagster's asset page shows Markdown metadata inline only when it is shorter than 1000 characters, and no figure
    fits in that as inline PNG: an image served over HTTP does. It shows while the MLflow UI at ``ui_url`` runs (the
    ``plot`` entry beside it holds the same figure inline, one click away, and always works)."""
    url = f"{ui_url.rstrip('/')}/get-artifact?path={quote(artifact)}&run_uuid={run_id}"
    return {"figure": MetadataValue.md(f"![{title}]({url})")}


def project_path(path: Path) -> str:
    """``path`` relative to the project folder if it lies inside it, else absolute (POSIX separators)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


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
    """``"0.123 ± 0.045"``, ``"0.4 (no SE)"`` for n = 1, ``"—"`` for n = 0 (n is shown in its own column).

    The standard error carries two significant figures and the mean is rounded to the same decimal place
    (:func:`value_with_error`), so a small SE never prints as ``± 0.0`` and a mean never claims digits its SE
    does not support; ``digits`` significant figures are used for a mean without SE.
    """
    if n == 0 or mean is None or not np.isfinite(mean):
        return "—"
    if stderr is None or not np.isfinite(stderr):
        return f"{mean:.{digits}g} (no SE)"
    return value_with_error(mean, stderr)


def value_with_error(value: float, error: float, figures: int = 2) -> str:
    """``value ± error`` with ``figures`` significant figures of the error and the value to the same decimal place:
    ``0.4321, 0.0567`` → ``"0.432 ± 0.057"``, ``12.34, 0.00042`` → ``"12.34000 ± 0.00042"``,
    ``1234.5, 123`` → ``"1230 ± 120"``; an error of exactly 0 (identical values) prints as ``"0.85 ± 0"``, and
    values beyond 10⁶ or an error below 10⁻⁶ switch to scientific notation with the same rule,
    ``"(1.000000 ± 0.000040)e-03"``."""
    error = abs(float(error))
    if error == 0.0:
        return f"{value:.3g} ± 0"
    exponent = int(np.floor(np.log10(error)))
    decimals = figures - 1 - exponent  # decimal places that keep `figures` significant figures of the error
    if decimals > 6 or abs(value) >= 1e6 or error >= 1e6:
        scale = int(np.floor(np.log10(max(abs(value), error))))
        places = max(scale - exponent + figures - 1, figures - 1)
        mantissa = value / 10.0**scale
        return f"({mantissa:.{places}f} ± {error / 10.0**scale:.{places}f})e{scale:+03d}"
    rounded_error = round(error, decimals)
    if rounded_error >= 10.0 ** (exponent + 1):  # 0.0996 → 0.10: one figure more in front, one decimal less
        decimals -= 1
        rounded_error = round(error, decimals)
    places = max(decimals, 0)
    return f"{round(value, decimals):.{places}f} ± {rounded_error:.{places}f}"


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
