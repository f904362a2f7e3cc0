"""The held-out test of [J]'s claim: a tGlassMLP trained without one labelled temperature predicts it.

For each temperature the profile holds out (``propensity_learning.held_out``; default the lowest labelled one,
i.e. extrapolation), a tGlassMLP is trained exactly as ``tglassmlp_model`` is — same split, settings, particle
types and distillation — on the other labelled temperatures only, and compared with the MD labels of every
configuration of the held-out temperature (:func:`glass_core.learning.transferability.held_out_comparison`):
Pearson per state point, χ4 and ℓ_ch predicted (per network, mean ± spread) against MD (with errors; χ4 also
of the R → ∞ propensity, the labels' thermal remainder removed with their split replica halves), the random-
field ℓ_ch of the same particles, the ⟨C_B⟩ error of the nominal input, and how far the held-out temperature lies
outside the training range. One MLflow run per held-out temperature (experiment ``propensity_transferability``,
tagged ``held_out_temperature``), rows in ``transferability``, a figure of MD against the held-out prediction.
"""

import json

import mlflow
import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher
from glass_assets.plots import figure_metadata, markdown_table
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.checks import TRANSFER_CHECKS
from glass_assets.propensity_learning.datasets import log_split_datasets
from glass_assets.propensity_learning.study_inputs import StudyInputs, campaign_temperatures, load_study, study_splits
from glass_assets.propensity_learning.training_runs import train_networks
from glass_assets.registry.propensity import example_input, log_ensemble_model
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import TRANSFERABILITY_CODE_VERSION
from glass_core.learning.transferability import (
    ChordSettings,
    HeldOutStatePoint,
    held_out_comparison,
    md_state_points,
)
from glass_core.models.systems import get_system

__all__ = ["EXPERIMENT", "transferability"]

EXPERIMENT = "propensity_transferability"
TABLE_TYPES = {
    "value": pl.Float64, "stderr": pl.Float64, "network_spread": pl.Float64, "n_configurations": pl.Int32,
    "n_networks": pl.Int32, "extrapolation_spans": pl.Float64, "mlflow_run_id": pl.String,
}  # fmt: skip


def _float(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def transfer_rows(system: str, label: str, point: HeldOutStatePoint, training: list[float],
                  run_id: str) -> list[dict[str, object]]:
    """``transferability`` rows of one held-out state point: Pearson, χ4 and ℓ_ch of ML and MD, the random-field
    chord and the ⟨C_B⟩ error."""
    common = {"system": system, "held_out_temperature": point.temperature, "target_cb": point.target_cb,
              "particle_type": label, "extrapolation_spans": _float(point.extrapolation_spans),
              "training_temperatures": json.dumps(training), "mlflow_run_id": run_id}
    n = point.n_configurations

    def row(observable: str, source: str, value: float | None, stderr: float | None = None,
            spread: float | None = None, networks: int | None = None) -> dict[str, object]:
        return {**common, "observable": observable, "source": source, "value": _float(value),
                "stderr": _float(stderr), "network_spread": _float(spread), "n_configurations": n,
                "n_networks": networks}

    rows = [
        row("pearson", "ml", point.pearson.mean, point.pearson.stderr),
        row("chi4", "ml", point.chi4_ml.mean, point.chi4_ml.stderr, point.chi4_ml.spread, point.chi4_ml.n_networks),
        row("chord_length", "ml", point.chord_ml.mean, point.chord_ml.stderr, point.chord_ml.spread,
            point.chord_ml.n_networks),
        row("cb_error", "ml", point.cb_error.mean, None, point.cb_error.spread, point.cb_error.n_networks),
    ]
    if point.chi4_md is not None:
        rows.append(row("chi4", "md", point.chi4_md.value, point.chi4_md.stderr))
    if point.chi4_md_full is not None:  # the R → ∞ χ4, which a structural prediction can reach
        rows.append(row("chi4", "md_configurational", point.chi4_md_full.configurational,
                        point.chi4_md_full.configurational_stderr))
    if point.chord_md is not None:
        rows.append(row("chord_length", "md", point.chord_md.mean, point.chord_md.stderr))
    if point.chord_random is not None:
        rows.append(row("chord_length", "random_field", point.chord_random.mean, point.chord_random.stderr))
    return rows


def _metrics(points: list[HeldOutStatePoint]) -> dict[str, float]:
    out = {}
    for p in points:
        suffix = f"cb{p.target_cb:g}"
        values = {
            f"pearson_{suffix}": p.pearson.mean,
            f"chi4_ml_{suffix}": p.chi4_ml.mean,
            f"chi4_md_{suffix}": p.chi4_md.value if p.chi4_md else float("nan"),
            f"chord_ml_{suffix}": p.chord_ml.mean,
            f"chord_md_{suffix}": p.chord_md.mean if p.chord_md else float("nan"),
            f"cb_error_{suffix}": p.cb_error.mean,
        }
        out |= values
    if points:
        out["extrapolation_spans"] = points[0].extrapolation_spans
        out["pearson_mean"] = float(np.nanmean([p.pearson.mean for p in points]))
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


def _held_out_arguments(loaded: StudyInputs, held_out: float, system: str) -> dict[str, object]:
    """The arguments of a tGlassMLP trained like the champion on every labelled temperature but ``held_out``."""
    train, validation, _ = study_splits(loaded)
    keep = [d.subset(~np.isclose(d.temperature, held_out)) for d in (train, validation)]
    data = loaded.data
    distil = None
    if data.unlabelled is not None:
        rows = data.unlabelled.subset(~np.isclose(data.unlabelled.temperature, held_out))
        distil = rows.subset(np.isin(rows.configuration, np.unique(keep[0].configuration)))
    return {
        "train": keep[0], "validation": keep[1], "unlabelled": distil if distil is not None and len(distil) else None,
        "settings": loaded.training, "feature_names": data.feature_names, "n_types": get_system(system).n_types,
        "particle_types": loaded.types, "requested_state_points": data.requested_state_points,
        "distil_unlabelled_temperatures": loaded.distillation == "every_temperature",
    }


def _replicas(warehouse: WarehouseResource, system: str) -> dict[float, int]:
    """R of the MD labels per temperature (``state_points``)."""
    rows = warehouse.get().query(
        "SELECT temperature, max(n_replicas) AS r FROM state_points WHERE system = ? GROUP BY temperature", [system])
    return {float(t): int(r) for t, r in rows.iter_rows()}


def _context_rows(loaded: StudyInputs, chords: ChordSettings, n_bootstrap: int, seed: int,
                  replicas: dict[float, int]) -> pl.DataFrame:
    """MD χ4 (of the R → ∞ propensity where the halves allow) and ℓ_ch at every labelled state point of the model's
    types, for the figure."""
    data = loaded.data
    chosen = np.isin(data.labelled.types, loaded.types)
    rows = []
    for point in md_state_points(data.labelled.subset(chosen), chords, n_bootstrap, seed,
                                 None if data.halves is None else data.halves[chosen], replicas):
        reachable = point.chi4_reachable
        if reachable is not None:
            rows.append({"temperature": point.temperature, "target_cb": point.target_cb, "observable": "chi4",
                         "value": reachable[0], "stderr": reachable[1]})
        if point.chord is not None:
            rows.append({"temperature": point.temperature, "target_cb": point.target_cb,
                         "observable": "chord_length", "value": point.chord.mean, "stderr": point.chord.stderr})
    return pl.DataFrame(rows, schema={"temperature": pl.Float64, "target_cb": pl.Float64, "observable": pl.String,
                                      "value": pl.Float64, "stderr": pl.Float64})


def transferability(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """How well a tGlassMLP trained without a held-out temperature's labels predicts that temperature, against its
    MD."""
    system = get_system(context.partition_key).name
    profile = study.load()
    settings, heterogeneity = profile.propensity_learning, profile.heterogeneity
    labelled, _ = campaign_temperatures(system)
    held_out = settings.held_out_temperatures(labelled)
    if not held_out:
        return MaterializeResult(metadata={"held_out": "none", "reason": MetadataValue.text(
            f"no temperature held out (profile held_out = {settings.held_out!r}, labelled T = {labelled}): "
            "the test needs at least two labelled temperatures")})
    loaded = load_study(study, warehouse, system)
    label = loaded.type_label
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    chords = ChordSettings(heterogeneity.chord_cell_size, heterogeneity.chord_median_over,
                           heterogeneity.chord_site_rule, heterogeneity.random_field_draws)
    replicas = _replicas(warehouse, system)
    rows, links = [], {}
    for temperature in held_out:
        context.log.info(f"held out T = {temperature}: training on {[t for t in labelled if t != temperature]}")
    arguments = [_held_out_arguments(loaded, t, system) for t in held_out]
    trained = train_networks(context, study, simulation, "tglassmlp", arguments, "held-out tGlassMLP")
    for temperature, model, held in zip(held_out, trained, arguments, strict=True):
        ensemble = model.result.ensemble
        chosen = np.isclose(loaded.data.labelled.temperature, temperature) & np.isin(loaded.data.labelled.types,
                                                                                      loaded.types)
        points = held_out_comparison(
            ensemble, loaded.data.labelled.subset(chosen), chords, heterogeneity.chi4_bootstrap, profile.base_seed,
            loaded.training.max_iterations, loaded.training.tolerance,
            halves=None if loaded.data.halves is None else loaded.data.halves[chosen],
            n_replicas=replicas.get(temperature, 1))
        training = ensemble.notes["training_temperatures"]
        with mlflow.start_run(experiment_id=experiment_id,
                              run_name=f"held-out-T{temperature:g}-{system}-{context.run.run_id[:8]}") as run:
            mlflow.set_tags({"system": system, "model_kind": "tglassmlp", "held_out_temperature": str(temperature),
                             "particle_types": label, "profile": study.profile, "dagster_run_id": context.run.run_id})
            mlflow.log_params({"held_out_temperature": temperature, "training_temperatures": json.dumps(training),
                               "particle_types": label, "distillation": loaded.distillation,
                               "n_networks_kept": ensemble.n_members, "n_descriptors_used": ensemble.n_features,
                               "device": model.device, "training_threads": model.threads})
            log_split_datasets(warehouse.path, system, loaded.data, {
                "training": held["train"], "validation": held["validation"],
                "test": loaded.data.labelled.subset(chosen)})  # every held-out configuration of its types
            mlflow.log_metrics(_metrics(points))
            # the held-out networks as a logged model of the run, to load and inspect (not registered: never a champion)
            rows_at = loaded.data.labelled.subset(chosen)
            first = np.arange(min(8, len(rows_at)))
            log_ensemble_model({None: ensemble}, example_input(
                loaded.data.feature_names, rows_at.features[first], rows_at.types[first],
                np.column_stack([rows_at.temperature[first], rows_at.target_cb[first]])), "held_out_model")
            links[f"T = {temperature:g}"] = mlflow_tracking.ui_link(experiment_id, run.info.run_id)
            for point in points:
                rows += transfer_rows(system, label, point, training, run.info.run_id)
        context.log.info(
            "; ".join(f"⟨C_B⟩ = {p.target_cb:g}: Pearson {p.pearson.mean:.3f}, χ4 ML {p.chi4_ml.mean:.4g} vs MD "
                      f"{p.chi4_md.value if p.chi4_md else float('nan'):.4g} (R → ∞: "
            f"{p.chi4_md_full.configurational if p.chi4_md_full else float('nan'):.4g})" for p in points))
    table = pl.DataFrame(rows, schema_overrides=TABLE_TYPES)
    results = evaluate_before_commit(
        TRANSFER_CHECKS,
        context,
        rejected={"transferability": table},
        quarantine_root=study.quarantine_root(),
        table=table,
    )
    written = warehouse.get().replace_partition({"system": system}, {"transferability": table})
    context_rows = _context_rows(loaded, chords, heterogeneity.chi4_bootstrap, profile.base_seed, replicas)
    figure = plots.transfer_figure(table, context_rows, f"{system}, type {label}: held-out temperatures {held_out}")
    wide = table.select("held_out_temperature", "target_cb", "observable", "source", "value", "stderr",
                        "network_spread").sort("held_out_temperature", "target_cb", "observable", "source")
    return MaterializeResult(
        check_results=results,
        metadata={
            "held_out_temperatures": MetadataValue.json(held_out),
            "particle_type": label,
            "comparison": MetadataValue.md(markdown_table(wide)),
            "mlflow_runs": MetadataValue.json(links),
            **{f"mlflow_run {name}": MetadataValue.url(link) for name, link in links.items()},  # clickable
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("transferability", f"{system}.png")),
        },
    )


TRANSFERABILITY = AssetTemplate(
    body=transferability,
    profile_settings=("base_seed", "propensity_learning", "heterogeneity"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("mlp_descriptors"), Upstream("state_point_labels")),
    checks=TRANSFER_CHECKS,
    kinds=frozenset({"pytorch", "mlflow", "duckdb"}),
    group_name="propensity_learning",
    code_version=TRANSFERABILITY_CODE_VERSION,
)

