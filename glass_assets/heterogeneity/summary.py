"""``heterogeneity_summary`` [J]: the paper figure of a system's dynamic heterogeneity, its length scales against
1/T and χ4 against ⟨C_B⟩ from ``dynamic_lengths`` and ``heterogeneity``, with a wide Markdown view of those rows."""

import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.campaign import load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.heterogeneity.checks import (
    SUMMARY_CHECKS,
    unresolved_xi4,
)
from glass_assets.plots import figure_metadata, heterogeneity_figure, markdown_table
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import HETEROGENEITY_CODE_VERSION
from glass_assets.warehouse import WarehouseError

__all__ = ["heterogeneity_summary"]


def _wide_summary(lengths: pl.DataFrame, chi4: pl.DataFrame) -> pl.DataFrame:
    """One row per (T, ⟨C_B⟩): every length and χ4 by source, value ± error, for the metadata table."""
    columns = ("value", "stderr", "network_spread")
    long = pl.concat(
        [
            lengths.select("temperature", "target_cb", (pl.col("length") + "_" + pl.col("source")).alias("name"),
                           *columns),
            chi4.select("temperature", "target_cb", ("chi4_" + pl.col("source")).alias("name"), *columns),
        ]
    )  # fmt: skip
    if long.height == 0:
        return long
    spread = pl.when(pl.col("network_spread").is_not_null()).then(
        pl.lit(" (networks ± ") + pl.col("network_spread").round(3).cast(pl.String) + pl.lit(")")
    ).otherwise(pl.lit(""))
    cell = (
        pl.when(pl.col("value").is_null())
        .then(pl.lit("unresolved"))
        .otherwise(
            pl.col("value").round(3).cast(pl.String)
            + pl.lit(" ± ")
            + pl.col("stderr").round(3).cast(pl.String).fill_null("—")
            + spread
        )
    )
    return (
        long.with_columns(cell.alias("cell"))
        .pivot(on="name", index=["temperature", "target_cb"], values="cell", aggregate_function="first")
        .sort("temperature", "target_cb", descending=[True, True])
    )


def heterogeneity_summary(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """The figure of the system's dynamic heterogeneity: its length scales against 1/T and χ4 against ⟨C_B⟩, MD
    beside tGlassMLP."""
    system = context.partition_key
    store = warehouse.get()
    store.ensure_writable()
    lengths = store.query("SELECT * FROM dynamic_lengths WHERE system = ? ORDER BY length, temperature", [system])
    chi4 = store.query(
        "SELECT * FROM heterogeneity WHERE system = ? AND observable IN ('chi4', 'chi4_configurational') "
        "AND target_cb IS NOT NULL ORDER BY temperature, source, target_cb",
        [system],
    ).with_columns(  # the MD χ4 of the R → ∞ propensity is its own series in the figure and the table
        source=pl.when(pl.col("observable") == "chi4_configurational").then(pl.lit("md_configurational"))
        .otherwise(pl.col("source"))
    )
    if lengths.height == 0 and chi4.height == 0:
        raise WarehouseError(f"no heterogeneity rows for {system}: materialize dynamic_heterogeneity first")
    temperatures = sorted(set(lengths["temperature"].to_list()) | set(chi4["temperature"].to_list()))
    large_boxes = sorted(float(t) for s, t in load_campaign().for_stage("large_box") if s == system)
    results = evaluate_before_commit(
        SUMMARY_CHECKS, context, lengths=lengths, temperatures=temperatures, xi4_temperatures=large_boxes
    )
    types = sorted({t for t in lengths["particle_type"].to_list() + chi4["particle_type"].to_list() if t})
    subset = f", particle type {'/'.join(types)}" if types else ""
    figure = heterogeneity_figure(lengths, chi4, f"{system}: dynamic heterogeneity and its length scales{subset}")
    wide = _wide_summary(lengths, chi4)
    return MaterializeResult(
        check_results=results,
        metadata={
            "summary": MetadataValue.md(markdown_table(wide)) if wide.height else "no rows",
            "temperatures": MetadataValue.json(temperatures),
            "lengths": MetadataValue.json(sorted(set(lengths["length"].to_list()))),
            "xi4_unresolved": MetadataValue.json(unresolved_xi4(lengths)),
            **figure_metadata(figure, study.plot_path("heterogeneity_summary", f"{system}.png")),
        },
    )


HETEROGENEITY_SUMMARY = AssetTemplate(
    body=heterogeneity_summary,
    partitioned_by=PER_SYSTEM,
    upstream=(
        Upstream("dynamic_heterogeneity"),
        Upstream("attention_lengths"),
        Upstream("four_point_structure_factor"),
    ),
    checks=SUMMARY_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
)
