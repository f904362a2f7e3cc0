"""The gain model's inputs for one system, read from the warehouse, the profile and the campaign.

- state points: ``heterogeneity`` rows of the tGlassMLP (``source = 'ml'``, ``observable = 'chi4'``) at every
  swap-MC temperature: χ4, its configuration bootstrap SE, its network spread, n;
- MD coverage: ``state_points`` (the (T, ⟨C_B⟩) the MD window reached, and when), the profile's windows and
  configurations per labelled temperature;
- the held-out calibration: ``transferability`` χ4 of the held-out tGlassMLP against MD;
- costs: the newest ``compute_usage`` rows of the system (CPU seconds of the step and of its tasks).

:func:`inputs_digest` is the digest of the data rows the proposals were made from (``row_sets``): a proposal made
from other rows than the warehouse holds now is stale.
"""

from __future__ import annotations

import hashlib
import json

import polars as pl

from glass_assets.profiles import Profile
from glass_assets.warehouse import Warehouse
from glass_core.learning.campaign_gain import CampaignState, StatePointError, held_out_calibration

__all__ = ["INPUT_TABLES", "campaign_state", "inputs_digest"]

#: the data tables a proposal is made from
INPUT_TABLES = ("heterogeneity", "state_points", "transferability")
#: the assets whose CPU is spent again when new labels arrive (retraining and everything downstream of it)
REFRESH_ASSETS = (
    "state_point_labels", "glassmlp_models", "tglassmlp_model", "transferability", "propensity_predictions",
    "dynamic_heterogeneity", "attention_lengths", "heterogeneity_summary",
)  # fmt: skip
#: the assets of one swap-MC temperature that new equilibria there run again
TEMPERATURE_ASSETS = ("inherent_structures", "mlp_descriptors", "propensity_predictions", "dynamic_heterogeneity")


def inputs_digest(warehouse: Warehouse, system: str) -> str:
    """Digest of the row sets of :data:`INPUT_TABLES` that belong to ``system``."""
    rows = warehouse.query(
        "SELECT table_name, row_key, data_digest FROM row_sets WHERE table_name IN ('heterogeneity', 'state_points', "
        "'transferability') AND json_extract_string(row_key, '$.system') = ? ORDER BY table_name, row_key",
        [system],
    )
    return hashlib.sha256(json.dumps(rows.rows()).encode()).hexdigest()[:16]


def _usage(warehouse: Warehouse, system: str) -> pl.DataFrame:
    return warehouse.query(
        "SELECT asset, partition_key, component, n_items, cpu_s FROM compute_usage WHERE asset LIKE ?",
        [f"{system}/%"],
    ).with_columns(pl.col("asset").str.split("/").list.last().alias("name"))


def _costs(usage: pl.DataFrame, profile: Profile, system: str, swap_mc: list[float]) -> dict:
    """CPU seconds per unit of each kind of work (see :class:`~glass_core.learning.campaign_gain.CampaignState`)."""
    md = usage.filter((pl.col("name") == "propensity_labels") & (pl.col("component") == "isoconfigurational"))
    exposure = sum(
        row["n_items"] * profile.propensity.max_time_for(system, float(row["partition_key"].split("|")[1]))
        for row in md.iter_rows(named=True)
    )
    swap = usage.filter(pl.col("name").is_in(["swap_mc_equilibria", "inherent_structures"]))
    per_t = profile.swap_mc.n_chains * profile.swap_mc.samples_per_chain
    per_temperature = pl.col("partition_key").str.contains("|", literal=True)
    temperature_cost = usage.filter(pl.col("name").is_in(TEMPERATURE_ASSETS) & per_temperature)
    return {
        "md_per_configuration_time": float(md["cpu_s"].sum()) / exposure if exposure else 0.0,
        "equilibrium": float(swap["cpu_s"].sum()) / (per_t * max(1, len(swap_mc))),
        "refresh": float(usage.filter(pl.col("name").is_in(REFRESH_ASSETS))["cpu_s"].sum()),
        "refresh_temperature": float(temperature_cost["cpu_s"].sum()) / max(1, len(swap_mc)),
    }


def campaign_state(
    warehouse: Warehouse, profile: Profile, system: str, labelled: list[float], swap_mc: list[float]
) -> CampaignState:
    """The :class:`~glass_core.learning.campaign_gain.CampaignState` of ``system``: labelled (MD) and swap-MC
    temperatures from the campaign, everything else from the warehouse and the profile."""
    chi4 = warehouse.query(
        "SELECT temperature, target_cb, value, stderr, network_spread, n_configurations FROM heterogeneity "
        "WHERE system = ? AND source = 'ml' AND observable = 'chi4' AND value IS NOT NULL ORDER BY 1, 2", [system])
    points = tuple(
        StatePointError(r["temperature"], r["target_cb"], r["value"], r["stderr"] or 0.0, r["network_spread"] or 0.0,
                        int(r["n_configurations"] or 0))
        for r in chi4.iter_rows(named=True) if any(abs(r["temperature"] - t) < 1e-9 for t in swap_mc)
    )
    reached = warehouse.query("SELECT temperature, target_cb, time FROM state_points WHERE system = ?", [system])
    md_reached: dict[float, tuple[float, ...]] = {t: () for t in labelled}
    times: dict[tuple[float, float], float] = {}
    for r in reached.iter_rows(named=True):
        if r["temperature"] in md_reached:
            md_reached[r["temperature"]] = tuple(sorted({*md_reached[r["temperature"]], r["target_cb"]}))
            times[(r["temperature"], r["target_cb"])] = r["time"]
    return CampaignState(
        points=points,
        md_reached=md_reached,
        windows={t: profile.propensity.max_time_for(system, t) for t in labelled},
        times=times,
        n_labelled={t: profile.propensity.samples_for(system, t) for t in labelled},
        swap_mc=tuple(swap_mc),
        held_out=_held_out(warehouse, system),
        costs=_costs(_usage(warehouse, system), profile, system, swap_mc),
        targets=tuple(profile.propensity_learning.state_point_targets),
        planned={t: (profile.propensity.max_time_for(system, t), profile.propensity.samples_for(system, t))
                 for t in swap_mc},
    )


def _held_out(warehouse: Warehouse, system: str) -> tuple[float, float] | None:
    """(x_h, e_h) of the lowest held-out temperature's χ4 (ML against MD), or None."""
    rows = warehouse.query(
        "SELECT held_out_temperature, target_cb, source, value, extrapolation_spans FROM transferability "
        "WHERE system = ? AND observable = 'chi4' AND source IN ('ml', 'md')", [system])
    if rows.is_empty():
        return None
    lowest = rows.filter(pl.col("held_out_temperature") == rows["held_out_temperature"].min())
    wide = lowest.pivot(on="source", index=["target_cb", "extrapolation_spans"], values="value")
    if not {"ml", "md"} <= set(wide.columns):
        return None
    return held_out_calibration(wide["ml"].to_list(), wide["md"].to_list(), float(wide["extrapolation_spans"][0]))
