"""The report's [J] model sections: GlassMLP against tGlassMLP per state point, and the held-out test.

- Model comparison: per state point (T, ⟨C_B⟩) of the test split, the particle subset the models were trained on
  (type A by default, [J]) — the best single descriptor, GlassMLP [G] and tGlassMLP [J], each as mean Pearson ± SE
  over test configurations and n — beside the split-half ceiling of the labels (``state_points``). [J]'s claim:
  tGlassMLP as good as per-state-point GlassMLP (within 0.03 here) and above the best descriptor everywhere.
- Held-out test (asset ``transferability``): per held-out temperature and state point, predicted against MD χ4
  and ℓ_ch (ML errors: configurations ⊕ spread over networks), the random-field ℓ_ch, the Pearson and the ⟨C_B⟩
  error, with the verdict of [J]'s claim (within 2 SE of MD).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from glass_assets.plots import mean_text
from glass_assets.report.data import ReportData
from glass_assets.report.html import Section, absent, note, table

__all__ = ["CLAIM_MARGIN", "held_out_test", "model_comparison"]

#: [J]: "as good as" per-state-point GlassMLP — judged here as a mean Pearson within this margin
CLAIM_MARGIN = 0.03


def _latest_scores(data: ReportData, system: str) -> pl.DataFrame | None:
    """Test-split scores of the newest version of each model of ``system`` (the rows the latest trainings wrote)."""
    scores = data.rows("mlp_scores", system, "split = 'test'")
    if scores is None:
        return None
    newest = scores.group_by("model_name").agg(pl.col("model_version").cast(pl.Int64).max().alias("newest"))
    return scores.join(newest, on="model_name").filter(pl.col("model_version").cast(pl.Int64) == pl.col("newest"))


def _cell(rows: pl.DataFrame) -> str:
    if rows.height == 0:
        return "—"
    r = rows.row(0, named=True)
    return mean_text(r["pearson"], r["stderr"], r["n_configurations"])


def _comparison_rows(scores: pl.DataFrame, ceilings: pl.DataFrame | None, subset: str) -> list[list[object]]:
    rows = []
    at = scores.filter(pl.col("subset") == subset)
    for (temperature, cb), group in at.sort("temperature", "target_cb", descending=[True, True]).group_by(
        ["temperature", "target_cb"], maintain_order=True
    ):
        best = group.filter(pl.col("predictor").str.starts_with("best_descriptor"))
        glass = group.filter(pl.col("predictor") == "glassmlp")
        tglass = group.filter(pl.col("predictor") == "tglassmlp")
        ceiling = "—"
        if ceilings is not None:
            match = ceilings.filter((pl.col("temperature") == temperature) & (pl.col("target_cb") == cb))
            if match.height and match["ceiling"][0] is not None:
                ceiling = f"{match['ceiling'][0]:.3f}"
        verdict = "—"
        if glass.height and tglass.height and glass["pearson"][0] is not None and tglass["pearson"][0] is not None:
            gap = tglass["pearson"][0] - glass["pearson"][0]
            beats = best.height == 0 or best["pearson"][0] is None or tglass["pearson"][0] > best["pearson"][0]
            verdict = ("holds" if gap >= -CLAIM_MARGIN and beats else "fails") + f" (Δ = {gap:+.3f})"
        label = best["predictor"][0].removeprefix("best_descriptor:") if best.height else "—"
        counts = sorted({int(n) for n in group["n_configurations"].drop_nulls().to_list()})
        n = "—" if not counts else str(counts[0]) if len(counts) == 1 else "/".join(map(str, counts))
        rows.append([temperature, cb, n, f"{label}: {_cell(best)}", _cell(glass), _cell(tglass), ceiling, verdict])
    return rows


def model_comparison(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: GlassMLP against tGlassMLP per state point."""
    section = Section("[J] GlassMLP against tGlassMLP per state point", "model-comparison")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        scores = _latest_scores(data, system)
        if scores is None or scores.filter(pl.col("predictor") == "tglassmlp").height == 0:
            section.add(absent(f"mlp_scores of {system} (assets {system}/glassmlp_models, {system}/tglassmlp_model)"))
            continue
        section.present = True
        subset = "A" if "A" in set(scores["subset"].to_list()) else scores["subset"][0]
        ceilings = data.rows("state_points", system)
        section.add(note(
            f"Test split, particles of type {subset} ([J] reports type A); Pearson mean ± SE over the n test "
            "configurations of the state point. The ceiling is the split-half reliability of the MD labels (what "
            f"finite replicas allow). [J]'s claim per state point: tGlassMLP within {CLAIM_MARGIN} of GlassMLP and "
            "above the best descriptor."))
        section.add(table(["T", "⟨C_B⟩", "n", "best descriptor", "GlassMLP", "tGlassMLP", "ceiling", "[J]'s claim"],
                          _comparison_rows(scores, ceilings, subset)))
        verdicts = [r[-1] for r in _comparison_rows(scores, ceilings, subset)]
        held = sum(v.startswith("holds") for v in verdicts)
        section.summary.append(f"- {system}: tGlassMLP vs GlassMLP claim holds at {held} of {len(verdicts)} "
                               "state points")
    return section


def _pair(rows: pl.DataFrame, observable: str, source: str) -> tuple[float | None, float | None]:
    """(value, error) of one transferability row; the error of an ML row adds the spread over networks."""
    match = rows.filter((pl.col("observable") == observable) & (pl.col("source") == source))
    if match.height == 0 or match["value"][0] is None:
        return None, None
    r = match.row(0, named=True)
    return r["value"], float(np.hypot(r["stderr"] or 0.0, r["network_spread"] or 0.0))


def _versus(ml: tuple, md: tuple) -> str:
    if ml[0] is None or md[0] is None:
        return "—"
    error = float(np.hypot(ml[1] or 0.0, md[1] or 0.0))
    return ("within 2 SE" if abs(ml[0] - md[0]) <= 2 * error else "outside 2 SE") + f" ({ml[0] / md[0]:.2f}×)"


def held_out_test(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: the held-out test of transferability."""
    section = Section("[J] Held-out temperatures: is transfer measured?", "transferability")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        rows = data.rows("transferability", system, order="held_out_temperature, target_cb")
        if rows is None:
            section.add(absent(f"transferability of {system} (asset {system}/transferability)"))
            continue
        section.present = True
        first = rows.row(0, named=True)
        section.add(note(
            f"A tGlassMLP trained on T = {first['training_temperatures']} only predicts the held-out temperature; "
            f"particle type {first['particle_type']}; {first['extrapolation_spans']:.2f} training spans of 1/T outside "
            "the training range. ML errors: configurations ⊕ spread over networks. MD χ4 of the R → ∞ propensity: the "
            "labels' χ4 less the thermal remainder of their finite replicas (split halves), which no structural "
            "prediction can reproduce."))
        body = []
        for (temperature, cb), group in rows.group_by(["held_out_temperature", "target_cb"], maintain_order=True):
            configurational = _pair(group, "chi4", "md_configurational")  # R → ∞, where the halves allow it
            chi4 = _pair(group, "chi4", "ml"), configurational if configurational[0] is not None else _pair(
                group, "chi4", "md")
            chord = _pair(group, "chord_length", "ml"), _pair(group, "chord_length", "md")
            pearson = _pair(group, "pearson", "ml")
            cb_error = _pair(group, "cb_error", "ml")
            random = _pair(group, "chord_length", "random_field")
            n = int(group["n_configurations"].max())
            body.append([temperature, cb, mean_text(pearson[0], pearson[1], n),
                         mean_text(chi4[0][0], chi4[0][1], n), mean_text(chi4[1][0], chi4[1][1], n),
                         _versus(*chi4), mean_text(chord[0][0], chord[0][1], n), mean_text(chord[1][0], chord[1][1], n),
                         mean_text(random[0], random[1], n), _versus(*chord),
                         "—" if cb_error[0] is None else f"{cb_error[0]:+.3f}"])
        section.add(table(["held-out T", "⟨C_B⟩", "Pearson (type subset)", "χ4 ML", "χ4 MD (R → ∞)", "χ4 verdict",
                           "ℓ_ch ML",
                           "ℓ_ch MD", "ℓ_ch random field", "ℓ_ch verdict", "⟨C_B⟩ error (nominal input)"], body))
        within = sum(r[5].startswith("within") for r in body)
        section.summary.append(f"- {system}: held-out χ4 within 2 SE of MD at {within} of {len(body)} state points")
    return section
