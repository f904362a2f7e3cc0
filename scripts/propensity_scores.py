"""Print the propensity-model scores of the warehouse per state point, as the issue's closing table asks:
best single descriptor, GlassMLP, tGlassMLP (test split, champion versions) and the split-half ceiling,
type A and all particles, each Pearson as mean ± standard error over n test configurations; then the
predicted against the requested ⟨C_B⟩ at every predicted temperature.

    .venv/bin/python scripts/propensity_scores.py [--warehouse data/warehouse.duckdb] [--system ka2d_ternary]
"""

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from glass_assets.warehouse import Warehouse  # noqa: E402


def newest_scores(store: Warehouse, system: str) -> pl.DataFrame:
    scores = store.query("SELECT * FROM mlp_scores WHERE system = ? AND split = 'test'", [system])
    newest = scores.group_by("model_name").agg(pl.col("model_version").cast(pl.Int64).max().alias("newest"))
    scores = scores.join(newest, on="model_name").filter(pl.col("model_version").cast(pl.Int64) == pl.col("newest"))
    # the best-descriptor baseline is scored by both trainings on the same split: keep one copy
    kind = pl.when(pl.col("predictor").str.starts_with("best_descriptor")).then(pl.lit("best descriptor"))
    scores = scores.with_columns(kind.otherwise(pl.col("predictor")).alias("kind"))
    return scores.unique(subset=["kind", "temperature", "target_cb", "subset"], keep="first", maintain_order=True)


def cell(row: dict) -> str:
    if row["pearson"] is None:
        return "—"
    se = "" if row["stderr"] is None else f" ± {row['stderr']:.3f}"
    return f"{row['pearson']:.3f}{se} (n={row['n_configurations']})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--system", default="ka2d_ternary")
    args = parser.parse_args()
    store = Warehouse(args.warehouse)
    scores = newest_scores(store, args.system)
    ceilings = store.query("SELECT temperature, target_cb, ceiling FROM state_points WHERE system = ?", [args.system])
    for subset in ("A", "all"):
        print(f"\n### Test Pearson per state point, {'type A' if subset == 'A' else 'all particles'}\n")
        print("| T | ⟨C_B⟩ | best descriptor | GlassMLP | tGlassMLP | ceiling (all) |\n|---|---|---|---|---|---|")
        table = scores.filter(pl.col("subset") == subset)
        groups = table.sort("temperature", "target_cb").group_by(["temperature", "target_cb"], maintain_order=True)
        for (t, c), rows in groups:
            by = {r["kind"]: r for r in rows.iter_rows(named=True)}
            best = by.get("best descriptor")
            baseline = f"{cell(best)} {best['predictor'].removeprefix('best_descriptor:')}" if best else "—"
            models = [cell(by[k]) if k in by else "—" for k in ("glassmlp", "tglassmlp")]
            ceiling = ceilings.filter((pl.col("temperature") == t) & (pl.col("target_cb") == c))["ceiling"]
            limit = f"{ceiling[0]:.3f}" if ceiling.len() and ceiling[0] is not None else "—"
            print(f"| {t:g} | {c:g} | {baseline} | {models[0]} | {models[1]} | {limit} |")
        means = table.group_by("kind").agg(pl.col("pearson").mean(), pl.len().alias("state_points")).sort("kind")
        print("\nmean over state points:", {r["kind"]: round(r["pearson"], 3) for r in means.iter_rows(named=True)})
    predicted = store.query(
        "SELECT * FROM prediction_state_points WHERE system = ? ORDER BY temperature, target_cb", [args.system]
    )
    if predicted.height:
        print("\n### Predicted vs requested ⟨C_B⟩ (champion tGlassMLP)\n")
        print("| T | requested | predicted | state input | iterations | MD Pearson |\n|---|---|---|---|---|---|")
        for r in predicted.iter_rows(named=True):
            md = "no MD" if r["md_pearson"] is None else f"{r['md_pearson']:.3f}"
            print(
                f"| {r['temperature']:g} | {r['target_cb']:g} | {r['achieved_cb']:.3f} | {r['state_input_cb']:.3f} "
                f"| {r['iterations']} | {md} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
