"""The report's GlassBench section: the registered models scored on GlassBench KA2D [R] (split 'glassbench' of
``mlp_scores``, asset ``glassbench_scores``) beside the same model versions on the platform's own test split.

One row per GlassBench state point (T, LJ time t, measured ⟨C_B⟩) and predictor: the type-A Pearson mean ± SE over
the structures and n, as GlassBench and [J] report it, or "undefined" with the stored reason (e.g. every label 1 at
t = 0.1); beside it the same predictor's type-A test-split score at the platform state point nearest in ⟨C_B⟩, and
[R]'s published GlassMLP value where the state point is one of its benchmarks (T = 0.30, t = 158.74 / 1781.79 /
20000). A second table lists the test-split scores of those model versions, and a figure puts both against ⟨C_B⟩.

Kept apart from :mod:`glass_assets.report.sections` (which wraps :func:`glassbench_outside_test` with its read-error
guard) so the GlassBench section can change without touching the papers' sections.

References (docs/bibliography.md): [R] (GlassBench, Zenodo 10118191); [J].
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from glass_assets.plots import mean_text
from glass_assets.report.data import ReportData
from glass_assets.report.html import Section, absent, figure, note, png, table

__all__ = ["GLASSBENCH_GLASSMLP", "glassbench_outside_test", "glassbench_rows", "nearest_test_score"]

PAPER = "paper"
#: [R]'s GlassMLP Pearson with the bond-breaking propensity, GlassBench KA2D at T = 0.30, per LJ time ([R])
GLASSBENCH_GLASSMLP: dict[tuple[float, float], float] = {
    (0.30, 158.74): 0.413,
    (0.30, 1781.79): 0.666,
    (0.30, 20000.0): 0.767,
}
UNDEFINED = "undefined"


def _paper_value(temperature: float, time: float | None, predictor: str) -> str:
    """[R]'s GlassMLP value at a benchmark state point, for the two networks (tGlassMLP should match it [J])."""
    if time is None or predictor not in ("glassmlp", "tglassmlp"):
        return "—"
    for (t_ref, time_ref), value in GLASSBENCH_GLASSMLP.items():
        if np.isclose(temperature, t_ref) and np.isclose(time, time_ref, rtol=1e-4):
            return f"{value:g} ([R] GlassMLP)"
    return "—"


def nearest_test_score(test: pl.DataFrame | None, model: tuple[str, str], predictor: str, cb: float) -> dict | None:
    """The type-A test-split row of ``model`` (name, version) and ``predictor`` nearest in ⟨C_B⟩ to ``cb`` (ties: the
    lowest temperature, the closest to GlassBench's supercooled ones); ``None`` without one."""
    if test is None:
        return None
    rows = test.filter(
        (pl.col("model_name") == model[0]) & (pl.col("model_version") == model[1]) & (pl.col("predictor") == predictor)
    )
    if rows.height == 0:
        return None
    return min(rows.iter_rows(named=True), key=lambda r: (abs(r["target_cb"] - cb), r["temperature"]))


def _score_text(row: dict) -> str:
    if row["pearson"] is None:
        return UNDEFINED
    return mean_text(row["pearson"], row["stderr"], row["n_configurations"])


def glassbench_rows(scores: pl.DataFrame, test: pl.DataFrame | None) -> list[list[object]]:
    """The GlassBench table's rows: each type-A GlassBench score (T, t, ⟨C_B⟩, predictor, model, mean ± SE, n, reason)
    beside the same predictor's test-split score nearest in ⟨C_B⟩, and [R]'s value."""
    rows = []
    for r in scores.filter(pl.col("subset") == "A").sort("temperature", "time", "predictor").iter_rows(named=True):
        model = (r["model_name"], r["model_version"])
        platform = nearest_test_score(test, model, r["predictor"], r["target_cb"])
        beside = (
            f"{_score_text(platform)} (n = {platform['n_configurations']}) at T = {platform['temperature']:g}, "
            f"⟨C_B⟩ = {platform['target_cb']:.3g}"
            if platform
            else "—"
        )
        rows.append(
            [
                r["temperature"],
                "—" if r["time"] is None else f"{r['time']:g}",  # the table's 3 digits would turn 1781.79 into 1.78e+03
                f"{r['target_cb']:.4g}",
                r["predictor"],
                f"{model[0]} v{model[1]}",
                _score_text(r),
                r["n_configurations"],
                r.get("reason") or "",
                beside,
                _paper_value(r["temperature"], r["time"], r["predictor"]),
            ]
        )
    return rows


def _scale(data: ReportData, system: str) -> str:
    """What the GlassBench scores were measured on: per temperature, structures, times, N and replicas."""
    labels = data.query(
        "SELECT temperature, count(DISTINCT sample) structures, count(DISTINCT time) times, max(n_replicas) replicas, "
        "max(particle) + 1 n FROM glassbench_labels WHERE system = ? GROUP BY temperature "
        "ORDER BY temperature",
        [system],
        needs=("glassbench_labels",),
    )
    if labels is None:
        return "GlassBench labels not materialized"
    return "; ".join(
        f"T = {r['temperature']:g}: {r['structures']} structure(s), {r['times']} time(s), N = {r['n']}, "
        f"{r['replicas']} replicas"
        for r in labels.iter_rows(named=True)
    )


def _figure(scores: pl.DataFrame, test: pl.DataFrame | None, title: str) -> bytes:
    """Type-A Pearson against ⟨C_B⟩: GlassBench (open) and the platform's test split (filled), per predictor."""
    fig, axis = plt.subplots(figsize=(6.0, 3.8))
    colours = {}
    for frame, filled, where in (
        (test, True, "test split"),
        (scores.filter(pl.col("subset") == "A"), False, "GlassBench"),
    ):
        if frame is None:
            continue
        for (predictor,), group in frame.drop_nulls("pearson").sort("target_cb").group_by(["predictor"]):
            colour = colours.setdefault(predictor, f"C{len(colours) % 10}")
            error = group["stderr"].fill_null(0.0).to_numpy()
            axis.errorbar(
                group["target_cb"].to_numpy(),
                group["pearson"].to_numpy(),
                yerr=error,
                fmt="o" if filled else "s",
                color=colour,
                mfc=colour if filled else "none",
                label=f"{predictor} ({where})",
                capsize=2,
            )
    axis.axhline(0, color="grey", lw=0.5)
    axis.set_xlabel("⟨C_B⟩ (measured)")
    axis.set_ylabel("Pearson, type A")
    axis.set_title(title)
    axis.invert_xaxis()
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=7)
    return png(fig)


def glassbench_outside_test(data: ReportData, systems: Sequence[str]) -> Section:
    """GlassBench as an outside test: type-A scores on GlassBench KA2D beside the platform's test split."""
    section = Section("GlassBench [R] as an outside test: type-A scores beside the test split", "glassbench")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        scores = data.rows("mlp_scores", system, "split = 'glassbench'", order="temperature, time, predictor, subset")
        if scores is None:
            section.add(absent(f"GlassBench scores of {system} (asset {system}/glassbench_scores)"))
            continue
        section.present = True
        models = scores.select("model_name", "model_version").unique()
        test = data.rows("mlp_scores", system, "split = 'test' AND subset = 'A'", order="temperature, target_cb")
        if test is not None:
            test = test.join(models, on=["model_name", "model_version"], how="semi")
            test = test if test.height else None
        section.add(
            note(
                f"Measured at: {_scale(data, system)}. GlassBench's full KA2D test set: N = 1290, 20 replicas, n in "
                "the tens per state point; with one structure a score is one configuration's correlation (no SE). "
                "Type A as GlassBench and [J] report; ⟨C_B⟩ is the measured mean label over all particles at t."
            )
        )
        columns = [
            "T",
            "t (LJ)",
            "measured ⟨C_B⟩",
            "predictor",
            "model",
            "type-A Pearson ± SE",
            "n",
            "reason (undefined)",
            "platform test split, nearest ⟨C_B⟩",
            PAPER,
        ]
        rows = glassbench_rows(scores, test)
        section.add(table(columns, rows, [PAPER]))
        if test is not None:
            section.add(
                table(
                    ["T", "⟨C_B⟩", "predictor", "model", "type-A Pearson ± SE (test split)", "n"],
                    [
                        [
                            r["temperature"],
                            r["target_cb"],
                            r["predictor"],
                            f"{r['model_name']} v{r['model_version']}",
                            _score_text(r),
                            r["n_configurations"],
                        ]
                        for r in test.sort("predictor", "temperature", "target_cb").iter_rows(named=True)
                    ],
                )
            )
        else:
            section.add(absent(f"test-split scores of the model versions {models.rows()} "
                               f"(asset {system}/tglassmlp_model)"))
        section.add(
            figure(
                _figure(scores, test, f"{system}: type-A Pearson, GlassBench and test split"),
                f"{system}: GlassBench (open squares) and the platform's test split (filled circles), mean ± SE over "
                "configurations; undefined scores are not drawn.",
            )
        )
        headline = scores.filter((pl.col("subset") == "A") & (pl.col("predictor") == "tglassmlp"))
        undefined = headline.filter(pl.col("pearson").is_null())
        defined = headline.drop_nulls("pearson")
        best = defined.sort("pearson", descending=True).row(0, named=True) if defined.height else None
        section.summary.append(
            f"- {system} GlassBench: tGlassMLP type A at {headline.height} state points, {undefined.height} undefined"
            + (
                f"; best {_score_text(best)} (n = {best['n_configurations']}) at T = {best['temperature']:g}, "
                f"t = {best['time']:g}"
                if best
                else ""
            )
        )
    return section
