"""``attention_lengths`` [J]: the champion tGlassMLP's attention P(L) over the coarse-graining lengths and the
attention length ⟨L⟩ at every state point (T, target ⟨C_B⟩) of the campaign's swap-MC temperatures."""

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.campaign import load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.heterogeneity import plots
from glass_assets.heterogeneity.checks import ATTENTION_CHECKS
from glass_assets.heterogeneity.rows import finite_or_none
from glass_assets.plots import figure_metadata, markdown_table
from glass_assets.registry.propensity import load_tglassmlp_champion, model_type_label
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import HETEROGENEITY_CODE_VERSION
from glass_assets.warehouse import Warehouse
from glass_core.dynamics.length_scales import attention_length
from glass_core.structure.physics_descriptors import parse_feature_name

__all__ = ["attention_lengths", "feature_lengths"]


def feature_lengths(names: list[str]) -> np.ndarray:
    """Coarse-graining length L of each descriptor name 'OBS_CHANNEL_L<length>'; a clear error otherwise."""
    return np.asarray([parse_feature_name(name)[2] for name in names])


def _state_inputs(store: Warehouse, system: str, temperature: float, version: str) -> dict[float, np.ndarray]:
    """target → each network's self-consistent state-point input (K,) of this model version's predictions, where
    they exist ([J]: every network's attention at its own iterated input)."""
    rows = store.query(
        "SELECT target_cb, state_input_cb, member_state_input_cb FROM prediction_state_points "
        "WHERE system = ? AND temperature = ? AND model_version = ?",
        [system, temperature, version],
    )
    return {
        target: np.asarray(members if members is not None else [mean], dtype=np.float64)
        for target, mean, members in rows.iter_rows()
    }


def attention_lengths(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """The champion tGlassMLP's attention over the coarse-graining lengths, and the attention length ⟨L⟩, at every
    state point of the campaign."""
    system = context.partition_key
    profile = study.load()
    temperatures = sorted(float(t) for s, t in load_campaign().for_stage("swap_mc") if s == system)
    if not temperatures:
        raise ValueError(f"the campaign has no swap_mc temperatures for {system}: no state point for attention")
    ensemble, version = load_tglassmlp_champion(mlflow_tracking.activate(), system)
    label = model_type_label(ensemble, system)
    lengths = feature_lengths(ensemble.feature_names)  # the used descriptors: constant ones never enter P(L)
    store = warehouse.get()
    store.ensure_writable()
    distributions, rows = [], []
    for temperature in temperatures:
        inputs = _state_inputs(store, system, temperature, version)
        for target in profile.propensity_learning.state_point_targets:
            state_input = inputs.get(target, np.array([target]))
            result = attention_length(
                ensemble.attention_weights(temperature, state_input if state_input.size == ensemble.n_members
                                           else float(state_input.mean())),
                lengths,
                profile.heterogeneity.attention_aggregate,
            )
            distributions.append(
                pl.DataFrame(
                    {
                        "system": system,
                        "temperature": temperature,
                        "target_cb": target,
                        "state_input_cb": float(state_input.mean()),
                        "coarse_graining_length": result.lengths,
                        "probability": result.distribution,
                        "spread": result.distribution_spread,
                        "n_networks": ensemble.n_members,
                        "model_version": version,
                        "particle_type": label,
                    }
                )
            )
            rows.append(
                {
                    "system": system,
                    "temperature": temperature,
                    "target_cb": target,
                    "source": "ml",
                    "length": "attention",
                    "value": finite_or_none(result.mean_length),
                    "stderr": finite_or_none(result.mean_length_spread),
                    "particle_type": label,
                    "network_spread": finite_or_none(result.mean_length_spread),
                    "n_networks": ensemble.n_members,
                }
            )
    frames = {
        "attention_distributions": pl.concat(distributions).with_columns(pl.col("n_networks").cast(pl.Int32)),
        "dynamic_lengths": pl.DataFrame(rows).with_columns(pl.col("n_networks").cast(pl.Int32)),
    }
    results = evaluate_before_commit(
        ATTENTION_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        frames=frames,
        distributions=frames["attention_distributions"],
    )
    written = store.replace_partitions(
        [
            ({"system": system}, {"attention_distributions": frames["attention_distributions"]}),
            ({"system": system, "length": "attention"}, {"dynamic_lengths": frames["dynamic_lengths"]}),
        ]
    )
    figure = plots.attention_figure(frames["attention_distributions"],
                                    f"tglassmlp_{system} v{version} (type {label}): P(L)")
    table = frames["dynamic_lengths"].select("temperature", "target_cb", "value", "stderr")
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"tglassmlp_{system} v{version} (champion)",
            "particle_type": label,
            "attention_lengths": MetadataValue.md(markdown_table(table)),
            "n_networks": ensemble.n_members,
            "n_descriptors": len(lengths),
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("attention_lengths", f"{system}.png")),
        },
    )



ATTENTION_LENGTHS = AssetTemplate(
    body=attention_lengths,
    profile_settings=("heterogeneity.attention_aggregate", "propensity_learning.state_point_targets"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("tglassmlp_model"), Upstream("propensity_predictions")),
    checks=ATTENTION_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
)
