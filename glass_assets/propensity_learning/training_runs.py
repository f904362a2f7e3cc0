"""One training run of either propensity model (GlassMLP [G], tGlassMLP [J]) around its networks: the trainings as
launcher tasks, the run's parameters, the figure of MD against predicted maps, the registered version and the
materialization.

Both models are selected on the validation split and scored on the test split; ``champion`` moves on the mean
validation Pearson of the trained types, never on a test number (:func:`register`). How the runs are laid out in
MLflow: :mod:`glass_assets.registry.propensity_runs`.
"""

import json
import time
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.launchers import SimulationLauncher, TrainedResult, train_through_launcher, training_scratch
from glass_assets.plots import figure_metadata, served_figure_metadata
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.datasets import StudyData
from glass_assets.propensity_learning.study_inputs import StudyInputs
from glass_assets.registry.propensity import example_input, log_ensembles, tag_version
from glass_assets.registry.propensity_runs import (
    SELECTION_METRIC,
    STATE_POINT_EXPERIMENT,
    StatePointRuns,
    comparison_runs,
    side_by_side,
)
from glass_assets.registry.tracking import MLflowResource, promote_if_not_worse
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import INHERENT
from glass_assets.versioning import code_version_tag
from glass_assets.warehouse import Warehouse
from glass_core.learning.mlp_data import PropensityDataset
from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.mlp_training import EpochRecord

__all__ = [
    "MAPS_ARTIFACT",
    "PredictFn",
    "descriptor_params",
    "epoch_progress",
    "map_figure",
    "materialize_result",
    "register",
    "run_params",
    "train_networks",
]

PredictFn = Callable[[PropensityDataset], np.ndarray]
#: the run's figure of MD against predicted propensity maps
MAPS_ARTIFACT = "propensity_maps.png"


def train_networks(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    trainer: str,
    arguments: list[dict[str, object]],
    what: str,
) -> list[TrainedResult]:
    """The trainings of ``arguments`` as launcher tasks on the profile's ``compute`` device, with this asset's epoch
    progress in its log (:func:`glass_assets.launchers.training.train_through_launcher`)."""
    compute = study.load().compute
    scratch = training_scratch(study.scratch_dir, context.asset_key.path[-1], str(context.partition_key))
    return train_through_launcher(simulation, trainer, arguments, scratch, compute.device, compute.training_threads,
                                  on_epoch=epoch_progress(context), log=context.log, what=what)


def epoch_progress(context: AssetExecutionContext, every_seconds: float = 20.0) -> Callable[[EpochRecord], None]:
    """An ``on_epoch`` callback that logs the current network, stage and epoch at most every ``every_seconds``."""
    last = [0.0]

    def report(record: EpochRecord) -> None:
        now = time.perf_counter()
        if now - last[0] >= every_seconds:
            last[0] = now
            context.log.info(
                f"{record.stage} network {record.member}: epoch {record.epoch}, train loss {record.train_loss:.4f}, "
                f"validation loss {record.validation_loss:.4f}"
            )

    return report


def run_params(study: StudyInputs, kind: str, train, validation, test) -> dict[str, object]:  # noqa: ANN001
    """The training run's parameters: the same names for both kinds, values that say what differs between them.

    Settings that one kind does not use are named as such (``"not used (GlassMLP)"``) rather than logged with the
    other kind's value, so *show diff only* in MLflow's *Compare* lists exactly what differs."""
    training = study.training
    glass = kind == "glassmlp"
    labelled = sorted({float(t) for t in study.data.labelled.temperature.tolist()})
    settings = training.to_dict()
    shared = ("loss_weights", "correlation_shells", "shell_width", "variance_threshold", "patience", "seed",
              "split_fractions", "threads")
    unused = "not used (GlassMLP)"
    return {
        **{k: json.dumps(settings[k]) if isinstance(settings[k], list) else settings[k] for k in shared},
        "model_kind": kind,
        "n_networks": training.n_glassmlp_networks if glass else training.n_networks,
        "networks": (f"{training.n_glassmlp_networks} per state point, one ensemble per state point" if glass else
                     f"{training.n_networks} over all state points (self-consistent ones kept), after "
                     f"{training.n_networks_equal_cb} per ⟨C_B⟩ to distil"),
        "n_networks_equal_cb": unused if glass else training.n_networks_equal_cb,
        "first_loss": "absolute error |y − ŷ|/s" if glass else "mean squared error",
        "first_schedule": json.dumps(settings["glassmlp_schedule" if glass else "tglass_mse_schedule"]),
        "full_loss_schedule": json.dumps(settings["glassmlp_full_loss_schedule" if glass
                                                  else "tglass_glassmlp_schedule"]),
        "self_consistency_tolerance": unused if glass else training.tolerance,
        "max_iterations": unused if glass else training.max_iterations,
        "state_input": "none (one model per state point)" if glass else "(T, ⟨C_B⟩), standardised",
        "particle_types": study.type_label,
        "distillation": study.distillation if not glass else "none (one model per state point)",
        "training_temperatures": json.dumps(labelled),
        "held_out_temperature": "none",
        "n_features": len(study.data.feature_names),
        "n_train_configurations": len(np.unique(train.configuration)),
        "n_validation_configurations": len(np.unique(validation.configuration)),
        "n_test_configurations": len(np.unique(test.configuration)),
        "state_points": json.dumps(study.data.labelled.state_points().tolist()),
    }


def descriptor_params(ensemble: PropensityEnsemble) -> dict[str, object]:
    dropped = [n for n in ensemble.input_names if n not in set(ensemble.feature_names)]
    return {"n_descriptors_used": ensemble.n_features, "dropped_descriptors": json.dumps(dropped)[:6000]}


def map_figure(
    store: Warehouse, system: str, data: StudyData, test_configuration: int, predict: PredictFn, title: str,
    types: tuple[int, ...],
) -> plt.Figure:
    """MD labels beside the prediction for one test configuration at its middle state point (the model's types)."""
    rows = (data.labelled.configuration == test_configuration) & np.isin(data.labelled.types, types)
    points = data.labelled.subset(rows).state_points()
    temperature, cb = points[len(points) // 2]
    rows &= data.labelled.at_state_point(temperature, cb)
    t, sample = data.configurations[test_configuration]
    key = {"system": system, "temperature": t, "ensemble": INHERENT}
    particles = store.read_partition("particles", key).filter(pl.col("sample") == sample).sort("particle")
    box = store.read_partition("samples", key).filter(pl.col("sample") == sample).select("box_x", "box_y").row(0)
    ids = data.particles[rows]
    positions = np.column_stack([particles["x"].to_numpy(), particles["y"].to_numpy()])[ids]
    panels = {"MD (isoconfigurational)": data.labelled.labels[rows], "prediction": predict(data.labelled.subset(rows))}
    return plots.propensity_maps(
        positions, box, panels, f"{title}: T = {temperature:g}, ⟨C_B⟩ = {cb:g}, sample {sample}"
    )


def _lineage(context: AssetExecutionContext, data: StudyData, code_version: str, system: str) -> dict[str, object]:
    labelled = sorted({t for t, _ in data.configurations if t in set(data.labelled.temperature.tolist())})
    return {
        "dagster_run_id": context.run.run_id,
        "data.partitions": [f"{system}|{t!r}" for t in sorted({t for t, _ in data.configurations})],
        "data.labelled_temperatures": labelled,
        **{f"data.{k}": v for k, v in data.lineage().items()},
        "code_version": code_version_tag(code_version),
    }


def register(
    context: AssetExecutionContext,
    mlflow_tracking: MLflowResource,
    ensembles: dict,
    data: StudyData,
    name: str,
    code_version: str,
    system: str,
    types: tuple[int, ...],
) -> tuple[str, str, float | None]:
    """Register the active run's ensembles as a new version with lineage tags; move ``champion`` on validation."""
    client = mlflow_tracking.activate()
    rows = np.flatnonzero(np.isin(data.labelled.types, types))[:8]
    state = np.column_stack([data.labelled.temperature[rows], data.labelled.target_cb[rows]])
    example = example_input(data.feature_names, data.labelled.features[rows], data.labelled.types[rows], state)
    version = log_ensembles(ensembles, example, name)
    tag_version(client, name, version, _lineage(context, data, code_version, system))
    alias, previous = promote_if_not_worse(client, name, version, SELECTION_METRIC)
    return version, alias, previous


def materialize_result(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    experiment_id: str,
    run_id: str,
    name: str,
    registered: tuple[str, str, float | None],
    scores: list[dict[str, object]],
    figure: plt.Figure,
    extra: dict[str, object],
    checks: list[AssetCheckResult],
    state_point_runs: StatePointRuns,
) -> MaterializeResult:
    """Write the version's scores to ``mlp_scores`` and describe the materialization: links to the MLflow run and
    to MLflow's *Compare* of this training's state-point runs beside the newest ones of the other model kind."""
    system = context.partition_key
    version, alias, previous = registered
    if name.startswith("tglassmlp"):
        columns = side_by_side(comparison_runs(mlflow_tracking, system, "glassmlp"), state_point_runs)
    else:
        columns = side_by_side(state_point_runs, comparison_runs(mlflow_tracking, system, "tglassmlp"))
    table = pl.DataFrame(scores).with_columns(
        pl.lit(system).alias("system"), pl.lit(name).alias("model_name"), pl.lit(str(version)).alias("model_version")
    )
    written = warehouse.get().replace_partition(
        {"system": system, "model_name": name, "model_version": str(version)}, {"mlp_scores": table}
    )
    test = table.filter(pl.col("split") == "test").select(
        "predictor", "temperature", "target_cb", "subset", "pearson", "stderr", "n_configurations"
    )
    return MaterializeResult(
        check_results=checks,
        metadata={
            "model": f"{name} v{version}",
            "alias": alias,
            "previous_champion_validation_pearson": previous if previous is not None else float("nan"),
            "mlflow_run": MetadataValue.url(mlflow_tracking.ui_link(experiment_id, run_id)),
            "mlflow_compare": MetadataValue.url(
                mlflow_tracking.compare_link([mlflow_tracking.experiment_id(STATE_POINT_EXPERIMENT)], columns)
            ),
            "mlflow_run_id": run_id,
            "test_scores": MetadataValue.md(plots.markdown_table(test.sort("temperature", "target_cb", "subset"))),
            "rows_written": MetadataValue.json(written),
            **extra,
            **served_figure_metadata(mlflow_tracking.ui_url, run_id, MAPS_ARTIFACT, f"{name} v{version}: MD against "
                                     "predicted propensity"),
            **figure_metadata(figure, study.plot_path(context.asset_key.path[-1], f"{system}_maps.png")),
        },
    )
