"""Propensity predicted by the champion tGlassMLP on every swap-MC equilibrium of a temperature [J].

Only the particles of the model's types are predicted (default type A, [J]); each particle's row keeps every
kept network's prediction (``members``) beside their mean and spread, so χ4 and the lengths can be computed per
network ([J]'s error bar), and each state point records every network's iterated state input and how far 1/T
lies outside the training temperatures (in training spans).
"""

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import AssetTemplate, Upstream
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.checks import PREDICTION_CHECKS
from glass_assets.propensity_learning.tables import feature_matrix, load_descriptors
from glass_assets.registry.propensity import load_tglassmlp_champion, model_type_label, tglassmlp_model_name
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import INHERENT, configurations
from glass_assets.versioning import PREDICTIONS_CODE_VERSION
from glass_assets.warehouse import ensemble_key
from glass_core.learning.mlp_data import extrapolation_spans
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.scores import pearson_by_configuration
from glass_core.learning.tglassmlp import TGlassMLPEnsemble

__all__ = ["propensity_predictions"]


def _check_model_matches_profile(ensemble: TGlassMLPEnsemble, version: str, system: str, types: tuple[int, ...],
                                 names: list[str], temperature: float) -> None:
    """A clear error when the champion was trained for other particle types or other descriptors than the profile
    and the table now hold: it must be retrained first."""
    if tuple(ensemble.particle_types) != tuple(types):
        raise ValueError(
            f"{tglassmlp_model_name(system)} v{version} was trained on particle types {list(ensemble.particle_types)}, "
            f"the profile asks for {list(types)}: re-materialize tglassmlp_model"
        )
    if names != ensemble.input_names:
        raise ValueError(
            f"{tglassmlp_model_name(system)} v{version} reads {len(ensemble.input_names)} descriptors, the table of "
            f"{system} at T={temperature} has {len(names)}: re-materialize mlp_descriptors with its profile"
        )


def _md_comparison(
    md_labels: pl.DataFrame, target: float, rows: pl.DataFrame, predicted: np.ndarray
) -> tuple[float | None, float | None]:
    """Per-configuration Pearson of the prediction with the MD labels (``state_point_labels`` rows of the
    partition) of the same state point, if any."""
    labels = md_labels.filter((pl.col("target_cb") == target) & pl.col("propensity").is_not_null())
    if labels.height == 0:
        return None, None
    joined = rows.select("sample", "particle").with_columns(pl.Series("predicted", predicted))
    joined = joined.join(labels.select("sample", "particle", "propensity"), on=["sample", "particle"], how="inner")
    score = pearson_by_configuration(
        joined["predicted"].to_numpy(), joined["propensity"].to_numpy(), joined["sample"].to_numpy()
    )
    finite = [None if not np.isfinite(v) else float(v) for v in (score.mean, score.stderr)]
    return finite[0], finite[1]


def propensity_predictions(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """The champion tGlassMLP's propensity of every equilibrium of the partition at each target ⟨C_B⟩, also where no
    MD exists."""
    system, temperature = parse_partition(context.partition_key)
    settings = study.load().propensity_learning
    training = MLPTrainingSettings.from_mapping(settings.training)
    ensemble, version = load_tglassmlp_champion(mlflow_tracking.activate(), system)
    store = warehouse.get()
    store.ensure_writable()
    rows, names = load_descriptors(store, system, [temperature])
    _check_model_matches_profile(ensemble, version, system, settings.type_indices(system), names, temperature)
    label = model_type_label(ensemble, system)
    rows = rows.filter(pl.col("type").is_in(list(ensemble.particle_types))).sort("sample", "particle")
    features, types = feature_matrix(rows, len(names)), rows["type"].to_numpy()
    training_temperatures = ensemble.notes.get("training_temperatures", [])
    spans = extrapolation_spans(temperature, training_temperatures) if training_temperatures else None
    predictions, summary, panels = [], [], {}
    md_labels = store.read_partition("state_point_labels", {"system": system, "temperature": temperature})
    for target in settings.state_point_targets:
        result = ensemble.predict(features, types, temperature, target, training.max_iterations, training.tolerance)
        md_pearson, md_stderr = _md_comparison(md_labels, target, rows, result.mean)
        predictions.append(
            rows.select("system", "temperature", "sample", "particle", "type").with_columns(
                pl.lit(target).alias("target_cb"),
                pl.Series("predicted", result.mean.astype(np.float64)),
                pl.Series("spread", result.std.astype(np.float64)),
                pl.lit(str(version)).alias("model_version"),
                pl.Series("members", result.members.T.astype(np.float32)).cast(pl.List(pl.Float32)),
                pl.lit(label).alias("particle_type"),
            )
        )
        summary.append(
            {
                "system": system,
                "temperature": temperature,
                "target_cb": target,
                "achieved_cb": result.achieved_cb,
                "state_input_cb": float(np.mean(result.state_input[:, 1])),
                "iterations": result.iterations,
                "n_networks": ensemble.n_members,
                "n_configurations": rows["sample"].n_unique(),
                "md_pearson": md_pearson,
                "md_pearson_stderr": md_stderr,
                "model_version": str(version),
                "member_state_input_cb": [float(c) for c in result.state_input[:, 1]],
                "extrapolation_spans": spans,
                "particle_type": label,
            }
        )
        first = rows["sample"] == rows["sample"][0]
        panels[f"⟨C_B⟩ = {target:g}"] = result.mean[first.to_numpy()]
        context.log.info(f"T={temperature}: requested ⟨C_B⟩={target}, predicted {result.achieved_cb:.3f}")
    frames = {
        "propensity_predictions": pl.concat(predictions),
        "prediction_state_points": pl.DataFrame(summary, schema_overrides={
            "member_state_input_cb": pl.List(pl.Float64), "extrapolation_spans": pl.Float64,
            "md_pearson": pl.Float64, "md_pearson_stderr": pl.Float64}),
    }
    results = evaluate_before_commit(
        PREDICTION_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        predictions=frames["propensity_predictions"],
        summary=frames["prediction_state_points"],
        max_spans=settings.max_extrapolation_spans,
    )
    written = store.replace_partition({"system": system, "temperature": temperature}, frames)
    key = ensemble_key(system, temperature, INHERENT)
    sample = int(rows["sample"][0])
    config = configurations(store.read_partition("samples", key), store.read_partition("particles", key))[sample]
    shown = rows.filter(pl.col("sample") == sample)["particle"].to_numpy()
    figure = plots.propensity_maps(
        config.positions[shown], config.box, panels, f"{system}, T = {temperature}, sample {sample}, types {label}"
    )
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"{tglassmlp_model_name(system)} v{version} (champion)",
            "particle_types": label,
            "extrapolation_spans": spans if spans is not None else float("nan"),
            "state_points": MetadataValue.md(plots.markdown_table(
                frames["prediction_state_points"].drop("system", "member_state_input_cb"))),
            "n_configurations": rows["sample"].n_unique(),
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("propensity_predictions", f"{system}_T{temperature!r}.png")),
        },
    )


PROPENSITY_PREDICTIONS = AssetTemplate(
    body=propensity_predictions,
    profile_settings=("propensity_learning",),
    partitioned_by="swap_mc",
    upstream=(Upstream("tglassmlp_model"), Upstream("mlp_descriptors")),
    checks=PREDICTION_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="propensity_learning",
    code_version=PREDICTIONS_CODE_VERSION,
)
