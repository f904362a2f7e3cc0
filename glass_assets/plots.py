"""Figures attached to materializations: PNG files a user can open, embedded as Markdown metadata.

Every figure that a domain and the report both draw is defined here once ([O] Fig. 3's violins, S4(q) with its
Ornstein–Zernike curve, [J]'s heterogeneity summary) with the pair labels they share; the report turns the figure
into PNG bytes (:func:`glass_assets.report.html.png`). The Agg backend is set once, in ``glass_assets/__init__``."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import quote

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from dagster import MetadataValue
from matplotlib.ticker import NullFormatter

from glass_assets.paths import REPO_ROOT
from glass_core.dynamics.four_point_structure_factor import ornstein_zernike

#: [O] §IV C's field pairs as figures and tables name them
PAIR_LABELS = {"gamma~upsilon": "C(Γ, Υ)", "gamma~one_minus_theta": "C(Γ, 1−Θ)", "one_minus_theta~upsilon": "C(1−Θ, Υ)"}
#: the two classes of [O] Fig. 3: name, colour, offset from the pair's slot
CLASSES = (("glass", "tab:blue", -0.18), ("liquid", "tab:orange", 0.18))

__all__ = [
    "PAIR_LABELS",
    "cooling_curve_figure",
    "correlation_violins",
    "figure_metadata",
    "heterogeneity_figure",
    "markdown_table",
    "mean_text",
    "project_path",
    "s4_figure",
    "served_figure_metadata",
    "stderr_metadata",
    "temperature_colours",
    "value_with_error",
]


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
        return resolved.relative_to(REPO_ROOT).as_posix()
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


def correlation_violins(
    pearson: pl.DataFrame,
    summary: pl.DataFrame | None,
    title: str,
    paper: dict[str, float] | None = None,
    unresolved_pairs: frozenset[str] = frozenset(),
) -> plt.Figure:
    """[O] Fig. 3: per-configuration Pearson coefficients, glass and liquid side by side (violin + points), with
    the stored mean ± SE (black) and n of each; [O]'s glass means (``paper``, pair → value) as red crosses where
    given. A pair of ``unresolved_pairs`` (Grad-CAM of a classifier below the gate) is not drawn: its slot says "no
    Grad-CAM finding", and no [O] value stands there.

    ``pearson``: rows with pair, label, value; ``summary``: rows with pair, label, mean, stderr, n (and ``method``:
    only its Pearson rows are read)."""
    paper = paper or {}
    if summary is not None and "method" in summary.columns:
        summary = summary.filter(pl.col("method") == "pearson")
    figure, axis = plt.subplots(figsize=(7.5, 3.8))
    rng = np.random.default_rng(0)
    for k, pair in enumerate(PAIR_LABELS):
        if pair in unresolved_pairs:
            axis.annotate(
                "no Grad-CAM finding\n(classifier unresolved)", (k, 0.0), ha="center", va="center", fontsize=7
            )
            continue
        for label, colour, offset in CLASSES:
            values = pearson.filter((pl.col("pair") == pair) & (pl.col("label") == label))["value"].drop_nulls()
            values = values.drop_nans().to_numpy()
            if values.size > 1:
                body = axis.violinplot([values], positions=[k + offset], widths=0.32, showextrema=False)["bodies"][0]
                body.set_facecolor(colour)
            axis.scatter(k + offset + rng.uniform(-0.05, 0.05, values.size), values, s=4, color=colour, alpha=0.6)
            stats = None if summary is None else summary.filter((pl.col("pair") == pair) & (pl.col("label") == label))
            if stats is not None and stats.height and stats["n"][0] > 0 and stats["mean"][0] is not None:
                axis.errorbar(
                    k + offset, stats["mean"][0], yerr=stats["stderr"][0], fmt="o", color="k", ms=3, capsize=3
                )
                axis.annotate(f"n={stats['n'][0]}", (k + offset, -1.1), ha="center", fontsize=7)
        if pair in paper:
            axis.scatter(k - 0.18, paper[pair], marker="x", color="red", s=50, zorder=5)
    axis.axhline(0.0, color="grey", lw=0.5)
    axis.set_ylim(-1.15, 1.05)
    axis.set_xticks(range(len(PAIR_LABELS)), list(PAIR_LABELS.values()))
    axis.set_ylabel("Pearson correlation per configuration")
    legend = "blue: glass, orange: liquid; ● mean ± SE" + ("; red ×: [O]" if paper else "")
    axis.set_title(f"{title}\n{legend}", fontsize=9)
    return figure


def s4_figure(
    s4: pl.DataFrame, title: str, fits: dict[float, tuple[float, float, float, float, bool]] | None = None
) -> plt.Figure:
    """[J]: S4(q) (log–log, ± SE over boxes), one colour per (T, ⟨C_B⟩), with the Ornstein–Zernike curve
    (:func:`glass_core.dynamics.four_point_structure_factor.ornstein_zernike`) on its fit range where ``fits`` gives
    it: target ⟨C_B⟩ → (S4(0), ξ4, A, q_fit_max, resolved), an unresolved fit dashed. Without a fit the points of a
    line are joined.

    ``s4``: rows with temperature, target_cb, q, s4, stderr (``fits`` is for one temperature's rows)."""
    fits = fits or {}
    figure, axis = plt.subplots(figsize=(6, 4.2))
    groups = s4.sort("q").group_by(["temperature", "target_cb"], maintain_order=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(s4.select("temperature", "target_cb").n_unique(), 1)))
    for colour, ((temperature, target), rows) in zip(colours, groups, strict=False):
        fit = fits.get(target)
        axis.errorbar(
            rows["q"],
            rows["s4"],
            yerr=rows["stderr"].fill_null(0.0).to_numpy(),
            marker="o",
            ms=3,
            capsize=2,
            ls="none" if fit else "-",
            color=colour,
            label=f"T = {temperature:g}, ⟨C_B⟩ = {target:g}",
        )
        if fit is None:
            continue
        s0, xi, a, q_fit, resolved = fit
        if np.isfinite(s0) and np.isfinite(xi):
            q = np.linspace(float(rows["q"].min()), q_fit, 100)
            axis.plot(q, ornstein_zernike(q, s0, xi, a), color=colour, ls="-" if resolved else "--")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel(r"$q$ ($\sigma^{-1}$)")
    axis.set_ylabel(r"$S_4(q)$")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    return figure


def temperature_colours(temperatures: list[float]) -> dict[float, tuple[float, float, float, float]]:
    """One colour per temperature, the coldest darkest: plasma from 0 (dark violet) to 0.8 (orange), never its pale
    yellow end. χ4 grows as T falls, so the largest curve is the darkest, never the faintest (a default colour cycle
    drew it in grey)."""
    ordered = sorted(set(temperatures))
    cmap = plt.get_cmap("plasma")
    return {t: cmap(0.8 * k / max(len(ordered) - 1, 1)) for k, t in enumerate(ordered)}


#: MD filled markers and solid lines, ML open markers and dashed lines, everywhere
STYLE = {
    "md": {"marker": "o", "linestyle": "-", "fillstyle": "full", "label": "MD"},
    "ml": {"marker": "s", "linestyle": "--", "fillstyle": "none", "label": "tGlassMLP"},
}
#: the χ4 panel's third series: the MD χ4 of the R → ∞ propensity (less the labels' thermal remainder)
CHI4_STYLE = {**STYLE, "md_configurational": {"marker": "D", "linestyle": ":", "fillstyle": "full",
                                              "label": "MD, R → ∞ (configurational)"}}
LENGTH_PANELS = (
    ("xi4", r"$\xi_4$ (OZ fit of $S_4(q)$)"),
    ("chord", r"chord length $\ell_{ch}$"),
    ("attention", r"attention length $\langle L\rangle$"),
)


def _random_field_line(axis: plt.Axes, lengths: pl.DataFrame) -> None:
    """The random-field ℓ_ch of each temperature (the floor of a correlated field), a grey band ± 2 SE."""
    reference = (
        lengths.filter((pl.col("source") == "random_field") & pl.col("value").is_not_null())
        .group_by("temperature").agg(pl.col("value").mean(), pl.col("stderr").mean()).sort("temperature")
    )
    if reference.height == 0:
        return
    inverse = 1.0 / reference["temperature"].to_numpy()
    value, error = reference["value"].to_numpy(), 2 * reference["stderr"].fill_null(0.0).to_numpy()
    axis.plot(inverse, value, color="grey", lw=1.5, label="random field")
    axis.fill_between(inverse, value - error, value + error, color="grey", alpha=0.25, lw=0)


def _length_panel(axis: plt.Axes, lengths: pl.DataFrame | None, length: str, label: str, colours: dict) -> None:
    axis.set_xlabel("$1/T$")
    axis.set_ylabel(f"{label} ($\\sigma$)")
    if lengths is None:
        axis.text(0.5, 0.5, f"no {length} rows yet", ha="center", va="center", transform=axis.transAxes, color="grey")
        return
    if length == "chord":
        _random_field_line(axis, lengths)
    rows = lengths.filter(
        (pl.col("length") == length) & pl.col("value").is_not_null() & (pl.col("source") != "random_field")
    )
    if rows.height == 0:
        axis.text(0.5, 0.5, f"no {length} rows yet", ha="center", va="center", transform=axis.transAxes, color="grey")
    for (source, target), part in rows.sort("temperature").group_by(["source", "target_cb"], maintain_order=True):
        style = STYLE.get(source, STYLE["ml"])
        error = part["stderr"].fill_null(0.0)
        if "network_spread" in part.columns:  # tGlassMLP: [J]'s spread over networks beside the configurations'
            error = (error**2 + part["network_spread"].fill_null(0.0) ** 2).sqrt()
        axis.errorbar(
            1.0 / part["temperature"].to_numpy(),
            part["value"],
            yerr=error,
            color=colours[target],
            marker=style["marker"],
            fillstyle=style["fillstyle"],
            linestyle=style["linestyle"],
            ms=5,
            capsize=2,
            lw=1,
        )
    unresolved = lengths.filter((pl.col("length") == length) & ~pl.col("resolved").fill_null(True)).height
    if unresolved:
        axis.text(
            0.02,
            0.95,
            f"{unresolved} fit(s) unresolved, not shown",
            transform=axis.transAxes,
            fontsize=7,
            va="top",
            color="tab:red",
        )


def _chi4_panel(axis: plt.Axes, chi4: pl.DataFrame | None) -> None:
    shades = temperature_colours(chi4["temperature"].to_list() if chi4 is not None else [])
    for temperature, colour in shades.items():
        label = f"T = {temperature:g}"
        for source in CHI4_STYLE:
            part = chi4.filter((pl.col("temperature") == temperature) & (pl.col("source") == source)).sort("target_cb")
            if part.height:
                style = CHI4_STYLE[source]
                error = part["stderr"].fill_null(0.0)
                if "network_spread" in part.columns:
                    error = (error**2 + part["network_spread"].fill_null(0.0) ** 2).sqrt()
                axis.errorbar(
                    part["target_cb"],
                    part["value"],
                    yerr=error,
                    color=colour,
                    marker=style["marker"],
                    fillstyle=style["fillstyle"],
                    linestyle=style["linestyle"],
                    ms=5,
                    capsize=2,
                    lw=1,
                    label=label,
                )
                label = None  # one legend entry per temperature
    if shades:
        axis.legend(fontsize=6, ncol=2)
    else:
        axis.text(0.5, 0.5, "no χ4 rows yet", ha="center", va="center", transform=axis.transAxes, color="grey")
    axis.set_xlabel(r"state point $\langle C_B\rangle$")
    axis.set_ylabel(r"$\chi_4$ (configurational)")
    axis.set_title(r"$\chi_4$ against $\langle C_B\rangle$ (time runs right)", fontsize=9)
    axis.invert_xaxis()


def heterogeneity_figure(lengths: pl.DataFrame | None, chi4: pl.DataFrame | None, title: str) -> plt.Figure:
    """[J]-style figure: ξ4, ℓ_ch and ⟨L⟩ against 1/T (colour = state point ⟨C_B⟩; MD filled circles and
    solid lines, tGlassMLP open squares and dashed lines; the random-field ℓ_ch floor grey; unresolved fits left out
    and counted), and χ4 against ⟨C_B⟩ at every temperature (the coldest darkest). ``None``: no rows yet.

    ``lengths``: ``dynamic_lengths`` rows; ``chi4``: the χ4 rows of ``heterogeneity`` (observable chi4)."""
    figure, axes = plt.subplots(2, 2, figsize=(9.5, 7.5))
    targets = sorted(set(lengths["target_cb"].to_list())) if lengths is not None and lengths.height else []
    cmap = plt.get_cmap("viridis")
    colours = {t: cmap(k / max(len(targets) - 1, 1)) for k, t in enumerate(targets)}
    for axis, (length, label) in zip(axes.ravel()[:3], LENGTH_PANELS, strict=True):
        _length_panel(axis, lengths, length, label, colours)
        axis.set_title(label, fontsize=9)
    _chi4_panel(axes[1][1], chi4)
    handles = [
        plt.Line2D(
            [],
            [],
            color="black",
            marker=s["marker"],
            fillstyle=s["fillstyle"],
            linestyle=s["linestyle"],
            label=s["label"],
        )
        for s in CHI4_STYLE.values()
    ] + [plt.Line2D([], [], color="grey", lw=1.5, label="random field (ℓ_ch floor)")] + [
        plt.Line2D([], [], color=c, lw=3, label=f"⟨C_B⟩ = {t:g}") for t, c in colours.items()
    ]
    figure.suptitle(title, y=0.995)
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.965),
        ncol=min(len(handles), 7),
        fontsize=7,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    return figure
