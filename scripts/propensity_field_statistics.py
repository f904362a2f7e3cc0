"""Predicted against MD propensity fields, per temperature and state point, for one particle type.

    .venv/bin/python scripts/propensity_field_statistics.py [--warehouse data/warehouse.duckdb] [--type A]

For each (T, ⟨C_B⟩) of ``propensity_predictions`` (champion tGlassMLP) it prints, over the particles of the type:
the standard deviation of the prediction over that of the MD labels (same configurations), χ4 of both
((⟨Q²⟩ − ⟨Q⟩²)/N, bootstrap SE) and their ratio, the chord length ℓ_ch of both ([J]'s active-fraction rule, one
median per state point) with the random-field ℓ_ch of the same particles, and the share η² of the variance that
lies between particle types (all types pooled: Σ_t n_t (x̄_t − x̄)² / Σ (x − x̄)²). Below the MD temperatures
only the predicted columns are filled. Works on any warehouse of the platform, old (all types predicted) or new.
"""

from __future__ import annotations

import argparse

import duckdb
import numpy as np
import polars as pl

from glass_core.dynamics.four_point_susceptibility import TooFewConfigurationsError, four_point_susceptibility
from glass_core.dynamics.length_scales import mean_chord_length, random_field_chord_length
from glass_core.models.systems import get_system

SYSTEM = "ka2d_ternary"


def _fields(rows: pl.DataFrame, column: str, samples: list[int], n: int) -> np.ndarray:
    fields = np.full((len(samples), n), np.nan)
    index = {s: k for k, s in enumerate(samples)}
    fields[[index[s] for s in rows["sample"].to_list()], rows["particle"].to_numpy()] = (
        rows[column].cast(pl.Float64).fill_null(np.nan).to_numpy())
    return fields


def _eta_squared(values: np.ndarray, types: np.ndarray) -> float:
    keep = np.isfinite(values)
    if not keep.any():
        return float("nan")
    values, types = values[keep], types[keep]
    total = ((values - values.mean()) ** 2).sum()
    between = sum((types == t).sum() * (values[types == t].mean() - values.mean()) ** 2 for t in np.unique(types))
    return float(between / total) if total > 0 else float("nan")


def _chi4(fields: np.ndarray) -> tuple[float, float]:
    try:
        result = four_point_susceptibility(fields, 500, 0)
        return result.value, result.stderr
    except TooFewConfigurationsError:
        return float("nan"), float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", default="data/warehouse.duckdb")
    parser.add_argument("--type", default="A", help="species name (A, B, C)")
    args = parser.parse_args()
    type_index = get_system(SYSTEM).type_names.index(args.type)
    con = duckdb.connect(args.warehouse, read_only=True)

    def q(sql: str) -> pl.DataFrame:
        return pl.from_arrow(con.sql(sql).to_arrow_table())

    predictions = q(f"SELECT temperature, target_cb, sample, particle, type, predicted FROM propensity_predictions "
                    f"WHERE system = '{SYSTEM}'")
    labels = q(f"SELECT temperature, target_cb, sample, particle, type, propensity FROM state_point_labels "
               f"WHERE system = '{SYSTEM}'")
    particles = q(f"SELECT temperature, sample, particle, type, x, y FROM particles WHERE system = '{SYSTEM}' "
                  "AND ensemble = 'swap_mc' ORDER BY temperature, sample, particle")
    boxes = q(f"SELECT temperature, box_x, box_y FROM samples WHERE system = '{SYSTEM}' AND ensemble = 'swap_mc'")
    print("T  ⟨C_B⟩  sd_ml/sd_md  χ4_ml ± SE  χ4_md ± SE  ratio  ℓ_ml  ℓ_md  ℓ_random  η²_ml  η²_md  (type "
          f"{args.type}; η² over all types)")
    for (temperature, target), pred in predictions.sort("temperature", "target_cb", descending=[True, True]).group_by(
            ["temperature", "target_cb"], maintain_order=True):
        at = particles.filter(pl.col("temperature") == temperature)
        samples = sorted(at["sample"].unique().to_list())
        n = int(at.group_by("sample").len()["len"].max())
        positions = np.stack([at.filter(pl.col("sample") == s).select("x", "y").to_numpy() for s in samples])
        types = np.stack([at.filter(pl.col("sample") == s)["type"].to_numpy() for s in samples])
        box_row = boxes.filter(pl.col("temperature") == temperature).row(0)
        box = (box_row[1], box_row[2])
        ml_all = _fields(pred, "predicted", samples, n)
        md_rows = labels.filter((pl.col("temperature") == temperature) & (pl.col("target_cb") == target))
        md_all = _fields(md_rows, "propensity", samples, n) if md_rows.height else np.full_like(ml_all, np.nan)
        mask = types == type_index
        ml, md = np.where(mask, ml_all, np.nan), np.where(mask, md_all, np.nan)
        has_md = np.isfinite(md).any()
        same = np.isfinite(md).any(axis=1) if has_md else np.ones(len(samples), bool)
        chi4_ml, chi4_md = _chi4(ml[same]), _chi4(md[same]) if has_md else (float("nan"), float("nan"))
        chords = [mean_chord_length(positions[same], f[same], box, 1.0, "ensemble", "below", "active_fraction").mean
                  if np.isfinite(f).any() else float("nan") for f in (ml, md)]
        random = random_field_chord_length(positions[same], mask[same], box, 1.0, "ensemble", "active_fraction", 20, 0)
        sd = np.nanstd(ml[same]) / np.nanstd(md[same]) if has_md else float("nan")
        print(f"{temperature:g}  {target:g}  {sd:.3f}  {chi4_ml[0]:.4g} ± {chi4_ml[1]:.2g}  {chi4_md[0]:.4g} ± "
              f"{chi4_md[1]:.2g}  {chi4_ml[0] / chi4_md[0]:.3f}  {chords[0]:.2f}  {chords[1]:.2f}  "
              f"{random.mean:.2f} ± {random.stderr:.2f}  {_eta_squared(ml_all.ravel(), types.ravel()):.3f}  "
              f"{_eta_squared(md_all.ravel(), types.ravel()):.3f}")


if __name__ == "__main__":
    main()
