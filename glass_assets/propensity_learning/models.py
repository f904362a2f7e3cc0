"""GlassMLP [G] and tGlassMLP [J] trained on the labelled state points, tracked and registered in MLflow.

Both train on the same split of configurations (the profile's ``training.split_fractions`` and ``seed``) and on
the profile's particle types (``propensity_learning.particle_types``; [J]: type A), are selected on the validation
split and scored on the test split; ``champion`` moves on the mean validation Pearson of the trained types, never
on a test number.

MLflow (experiment ``propensity_learning``) is laid out for comparing the two models:

- one run per training (tag ``level = training``): parameters under the same names for both kinds whose values say
  what differs (``model_kind``, ``n_networks``, ``networks``, ``first_loss``, the schedules, ``training_temperatures``,
  ``held_out_temperature``, ``particle_types``, ``distillation``), and only metrics both kinds have
  (:data:`TRAINING_METRICS`, the loss curves ``train_loss``/``validation_loss`` of the registered networks); what
  one kind alone has (each GlassMLP network's and each distillation network's loss curve, the attention
  diagnostics) goes to tables (``loss_history.json``, ``attention_by_state_point.json``);
- one run per scored state point in experiment ``propensity_learning_by_state_point`` (tags ``level = state_point``
  and ``training_run_id``) with ``model_kind``, ``temperature``, ``target_cb`` as parameters and the same metric
  names for both kinds (:data:`STATE_POINT_METRICS`), so MLflow's *Compare* of these runs is GlassMLP against
  tGlassMLP per state point, with no metric that one kind lacks. They are an experiment of their own, not nested
  runs: MLflow's runs table selects a collapsed parent without its children, so "select all, Compare" on nested
  runs compares the trainings; here it compares the state points (open the experiment, tick all, *Compare*).
"""

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import polars as pl
import torch
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)
from mlflow.entities import Metric, Param

from glass_assets.campaign import load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher, TrainedResult, train_through_launcher, training_scratch
from glass_assets.plots import figure_metadata, served_figure_metadata
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.checks import (
    GLASSMLP_CHECKS,
    TGLASSMLP_CHECKS,
)
from glass_assets.propensity_learning.datasets import StudyData, log_split_datasets, study_data
from glass_assets.registry.propensity import (
    example_input,
    glassmlp_model_name,
    log_ensembles,
    tag_version,
    tglassmlp_model_name,
)
from glass_assets.registry.tracking import MLflowResource, promote_if_not_worse
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import INHERENT
from glass_assets.versioning import GLASSMLP_CODE_VERSION, TGLASSMLP_CODE_VERSION, code_version_tag
from glass_assets.warehouse import Warehouse
from glass_core.learning.mlp_data import PropensityDataset, extrapolation_spans, split_by_configuration
from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.mlp_training import EpochRecord
from glass_core.learning.scores import best_single_descriptor, pearson_by_configuration
from glass_core.learning.tglassmlp import TGlassMLPEnsemble
from glass_core.models.systems import get_system

__all__ = [
    "EXPERIMENT",
    "STATE_POINT_EXPERIMENT",
    "STATE_POINT_METRICS",
    "TRAINING_METRICS",
    "glassmlp_models",
    "side_by_side",
    "tglassmlp_model",
]

EXPERIMENT = "propensity_learning"
#: one run per (training, state point), for MLflow's Compare of the two model kinds per state point
STATE_POINT_EXPERIMENT = "propensity_learning_by_state_point"
SELECTION_METRIC = "validation_pearson_mean"
#: metrics of a training run, the same for both kinds (with the loss curves train_loss, validation_loss)
TRAINING_METRICS = (SELECTION_METRIC, "test_pearson_mean", "n_state_points", "n_networks_trained", "n_networks_kept")
#: metrics of a state-point run, the same for both kinds
STATE_POINT_METRICS = (
    "validation_pearson",
    "test_pearson",
    "test_pearson_stderr",
    "test_configurations",
    "test_cb_error",
    "best_descriptor_test_pearson",
)
PredictFn = Callable[[PropensityDataset], np.ndarray]
#: the run's figure of MD against predicted propensity maps
MAPS_ARTIFACT = "propensity_maps.png"


def _state(temperature: float, cb: float) -> str:
    return f"T{temperature:g}_cb{cb:g}"


def campaign_temperatures(system: str) -> tuple[list[float], list[float]]:
    """(labelled, unlabelled) temperatures of ``system`` in the campaign: MD labels, and swap-MC equilibria only."""
    campaign = load_campaign()
    labelled = sorted(float(t) for s, t in campaign.for_stage("propensity") if s == system)
    unlabelled = sorted(float(t) for s, t in campaign.for_stage("swap_mc") if s == system and float(t) not in labelled)
    return labelled, unlabelled


@dataclass(frozen=True)
class StudyInputs:
    """What both trainings read: the data, the training settings, the particle types (indices and label) and the
    profile's distillation choice."""

    data: StudyData
    training: MLPTrainingSettings
    types: tuple[int, ...]
    type_label: str
    distillation: str


def load_study(study: StudySettings, warehouse: WarehouseResource, system: str) -> StudyInputs:
    settings = study.load().propensity_learning
    training = MLPTrainingSettings.from_mapping(settings.training)
    labelled, unlabelled = campaign_temperatures(system)
    data = study_data(warehouse.get(), system, labelled, unlabelled, list(settings.state_point_targets),
                      settings.distillation)
    return StudyInputs(data, training, settings.type_indices(system), settings.type_label(system),
                       settings.distillation)


def _score_subsets(dataset: PropensityDataset, label: str) -> list[tuple[str, np.ndarray | None]]:
    """(subset label, particle mask) to score: the model's own subset, and type A within it where A is one of
    several trained types ([J] and GlassBench report type A)."""
    subsets: list[tuple[str, np.ndarray | None]] = [(label, None)]
    if label != "A" and (dataset.types == 0).any():
        subsets.insert(0, ("A", dataset.types == 0))
    return subsets


def _scores(
    predictor: str, dataset: PropensityDataset, prediction: np.ndarray, split: str, label: str
) -> list[dict[str, object]]:
    """``mlp_scores`` rows of one predictor on one split: per state point and particle subset (module doc)."""
    rows = []
    for temperature, cb in dataset.state_points():
        at = dataset.at_state_point(temperature, cb)
        for subset, mask in _score_subsets(dataset.subset(at), label):
            score = pearson_by_configuration(prediction[at], dataset.labels[at], dataset.configuration[at], mask)
            rows.append(
                {
                    "predictor": predictor,
                    "temperature": float(temperature),
                    "target_cb": float(cb),
                    "split": split,
                    "subset": subset,
                    "pearson": _finite_or_none(score.mean),
                    "stderr": _finite_or_none(score.stderr),
                    "n_configurations": score.n,
                }
            )
    return rows


def _finite_or_none(value: float) -> float | None:
    """NULL, not NaN, in the warehouse: an undefined Pearson (constant field) or a standard error of n = 1."""
    return float(value) if np.isfinite(value) else None


def _baseline_scores(
    train: PropensityDataset, test: PropensityDataset, names: list[str], label: str
) -> list[dict[str, object]]:
    """Best single descriptor (chosen on the training rows of the model's types, per state point, signed) scored
    on test."""
    rows = []
    for temperature, cb in test.state_points():
        column, sign = best_single_descriptor(
            train.features[train.at_state_point(temperature, cb)], train.labels[train.at_state_point(temperature, cb)]
        )
        at = test.at_state_point(temperature, cb)
        prediction = np.zeros(len(test))
        prediction[at] = sign * test.features[at, column]
        predictor = f"best_descriptor:{names[column]}({'+' if sign > 0 else '−'})"
        rows += [
            r
            for r in _scores(predictor, test, prediction, "test", label)
            if (r["temperature"], r["target_cb"]) == (temperature, cb)
        ]
    return rows


def _log_history(history: list[EpochRecord], final_stages: Callable[[str], bool]) -> None:
    """The loss curves: ``train_loss``/``validation_loss`` per epoch, averaged over the networks of the stages
    ``final_stages`` accepts (those the registered model is made of), as metric histories both kinds share; every
    record of every network and stage as the table ``loss_history.json``."""
    grouped: dict[int, list[EpochRecord]] = defaultdict(list)
    for record in history:
        if final_stages(record.stage):
            grouped[record.epoch].append(record)
    now = int(time.time() * 1000)
    metrics = []
    for epoch, records in sorted(grouped.items()):
        for kind in ("train_loss", "validation_loss"):
            values = np.array([getattr(r, kind) for r in records], dtype=np.float64)
            if np.isfinite(values).any():
                metrics.append(Metric(kind, float(np.nanmean(values)), now, epoch))
    client, run_id = mlflow.MlflowClient(), mlflow.active_run().info.run_id
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start : start + 900])
    if history:
        table = pl.DataFrame([{k: getattr(r, k) for k in ("stage", "member", "epoch", "loss", "learning_rate",
                                                          "train_loss", "validation_loss", "selected")}
                              for r in history])
        mlflow.log_table(table.to_pandas(), "loss_history.json")


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


def _training_metrics(scores: list[dict[str, object]], predictor: str, label: str) -> dict[str, float]:
    """The mean validation and test Pearson of the model's own subset over its state points (the selection
    metric: validation) and the number of state points."""
    out: dict[str, float] = {}
    for split, name in (("validation", SELECTION_METRIC), ("test", "test_pearson_mean")):
        values = [r["pearson"] for r in scores if r["predictor"] == predictor and r["split"] == split
                  and r["subset"] == label and r["pearson"] is not None]
        out[name] = float(np.nanmean(values)) if values else float("nan")
    out["n_state_points"] = float(len({(r["temperature"], r["target_cb"]) for r in scores
                                       if r["predictor"] == predictor}))
    return out


def _cb_errors(dataset: PropensityDataset, prediction: np.ndarray) -> dict[tuple[float, float], float]:
    """Mean prediction − requested ⟨C_B⟩ per state point of the test split."""
    return {
        (float(t), float(c)): float(prediction[dataset.at_state_point(t, c)].mean() - c)
        for t, c in dataset.state_points()
    }


def _state_point_metrics(
    scores: list[dict[str, object]], predictor: str, label: str, cb_error: float | None
) -> dict[str, float]:
    """:data:`STATE_POINT_METRICS` of one state point's score rows (the model's own particle subset; type A beside it,
    ``…_A``, where the model learns several types); undefined values are left out, never logged as NaN."""
    def row(who: Callable[[str], bool], split: str, subset: str) -> dict[str, object] | None:
        found = [r for r in scores if who(str(r["predictor"])) and r["split"] == split and r["subset"] == subset]
        return found[0] if found else None

    out: dict[str, object] = {}
    for subset, suffix in [(label, "")] + ([("A", "_A")] if label != "A" else []):
        validation = row(lambda p: p == predictor, "validation", subset)
        test = row(lambda p: p == predictor, "test", subset)
        best = row(lambda p: p.startswith("best_descriptor"), "test", subset)
        out[f"validation_pearson{suffix}"] = validation and validation["pearson"]
        out[f"test_pearson{suffix}"] = test and test["pearson"]
        out[f"test_pearson_stderr{suffix}"] = test and test["stderr"]
        out[f"best_descriptor_test_pearson{suffix}"] = best and best["pearson"]
        if subset == label:
            out["test_configurations"] = test and test["n_configurations"]
    out["test_cb_error"] = cb_error
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(float(v))}


def _state_point_name(kind: str, temperature: float, cb: float) -> str:
    """``T=0.7 cb=0.37 glassmlp``: state point first, so sorting by name puts the two models of it side by side."""
    return f"T={temperature:g} cb={cb:g} {kind}"


StatePointRuns = dict[tuple[float, float], str]


def _log_state_point_runs(
    mlflow_tracking: MLflowResource, kind: str, label: str, scores: list[dict[str, object]],
    cb_errors: dict[tuple[float, float], float], n_networks: int, tags: dict[str, str],
) -> StatePointRuns:
    """One run per state point the model was scored at, in experiment :data:`STATE_POINT_EXPERIMENT`, tagged with
    the active training run (module doc): (T, ⟨C_B⟩) → run id."""
    client, training = mlflow.MlflowClient(), mlflow.active_run()
    experiment_id = mlflow_tracking.experiment_id(STATE_POINT_EXPERIMENT)
    points = sorted({(float(r["temperature"]), float(r["target_cb"])) for r in scores if r["predictor"] == kind})
    runs = {}
    for temperature, cb in points:
        rows = [r for r in scores if (r["temperature"], r["target_cb"]) == (temperature, cb)]
        run = client.create_run(experiment_id, run_name=_state_point_name(kind, temperature, cb), tags={
            **tags, "level": "state_point", "training_run_id": training.info.run_id,
            "training_run_name": training.info.run_name or "",
        })
        params = {"model_kind": kind, "temperature": temperature, "target_cb": cb, "particle_types": label,
                  "state_point": f"T={temperature:g}, <C_B>={cb:g}", "n_networks": n_networks}
        metrics = _state_point_metrics(rows, kind, label, cb_errors.get((temperature, cb)))
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                         params=[Param(k, str(v)) for k, v in params.items()])
        client.set_terminated(run.info.run_id)
        runs[(temperature, cb)] = run.info.run_id
    mlflow.set_tag("state_point_runs", f"experiment {STATE_POINT_EXPERIMENT}: tags.training_run_id = "
                                       f"'{training.info.run_id}'")
    return runs


def _comparison_runs(mlflow_tracking: MLflowResource, system: str, kind: str) -> StatePointRuns:
    """The state-point runs of the newest training of ``kind`` for ``system``: (T, ⟨C_B⟩) → run id (none: empty)."""
    client = mlflow_tracking.activate()
    newest = client.search_runs(
        [mlflow_tracking.experiment_id(EXPERIMENT)],
        f"tags.level = 'training' and tags.model_kind = '{kind}' and tags.system = '{system}'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )
    if not newest:
        return {}
    runs = client.search_runs([mlflow_tracking.experiment_id(STATE_POINT_EXPERIMENT)],
                              f"tags.training_run_id = '{newest[0].info.run_id}'", max_results=500)
    return {(float(r.data.params["temperature"]), float(r.data.params["target_cb"])): r.info.run_id for r in runs}


def side_by_side(glassmlp: StatePointRuns, tglassmlp: StatePointRuns) -> list[str]:
    """Run ids for MLflow's *Compare*, one column per run: per state point (warmest, least relaxed first) GlassMLP
    then tGlassMLP, so the two models of a state point stand next to each other."""
    points = sorted(set(glassmlp) | set(tglassmlp), key=lambda p: (-p[0], -p[1]))
    return [runs[p] for p in points for runs in (glassmlp, tglassmlp) if p in runs]


def _map_figure(
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


def _register(
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


def _start_run(mlflow_tracking: MLflowResource, context: AssetExecutionContext, kind: str, system: str):  # noqa: ANN202
    mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    return experiment_id, mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{kind}-{system}-{context.run.run_id[:8]}"
    )


def _result(
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
        columns = side_by_side(_comparison_runs(mlflow_tracking, system, "glassmlp"), state_point_runs)
    else:
        columns = side_by_side(state_point_runs, _comparison_runs(mlflow_tracking, system, "tglassmlp"))
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


def _run_params(study: StudyInputs, kind: str, train, validation, test) -> dict[str, object]:  # noqa: ANN001
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


def study_splits(study: StudyInputs) -> tuple[PropensityDataset, PropensityDataset, PropensityDataset]:
    """(train, validation, test) of the labelled rows by configuration, the model's particle types only."""
    splits = split_by_configuration(study.data.labelled, study.training.split_fractions, study.training.seed)
    return tuple(d.of_types(study.types) for d in splits)  # type: ignore[return-value]


def _descriptor_params(ensemble: PropensityEnsemble) -> dict[str, object]:
    dropped = [n for n in ensemble.input_names if n not in set(ensemble.feature_names)]
    return {"n_descriptors_used": ensemble.n_features, "dropped_descriptors": json.dumps(dropped)[:6000]}


def glassmlp_models(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """GlassMLP [G] baseline ensembles, one per labelled state point, as an MLflow run, a registered model and their
    test scores."""
    system = get_system(context.partition_key).name
    loaded = load_study(study, warehouse, system)
    data, training, label = loaded.data, loaded.training, loaded.type_label
    train, validation, test = study_splits(loaded)
    experiment_id, run = _start_run(mlflow_tracking, context, "glassmlp", system)
    ensembles, scores, history = {}, [], []
    tags = {"system": system, "model_kind": "glassmlp", "profile": study.profile, "particle_types": label}
    with run:
        mlflow.set_tags({**tags, "level": "training"})
        mlflow.log_params(_run_params(loaded, "glassmlp", train, validation, test))
        log_split_datasets(warehouse.path, system, data, {"training": train, "validation": validation, "test": test})
        points = [(float(t), float(c)) for t, c in train.state_points()]
        splits = {p: [d.subset(d.at_state_point(*p)) for d in (train, validation, test)] for p in points}
        trained = train_networks(context, study, simulation, "glassmlp", [
            {"train": splits[p][0], "validation": splits[p][1], "settings": training,
             "feature_names": data.feature_names, "n_types": get_system(system).n_types,
             "particle_types": loaded.types} for p in points
        ], "GlassMLP")
        for done, ((temperature, cb), result) in enumerate(zip(points, trained, strict=True), 1):
            at, ensemble = splits[(temperature, cb)], result.result
            ensembles[(float(temperature), float(cb))] = ensemble
            history += [r.__class__(**{**r.__dict__, "stage": _state(temperature, cb)}) for r in ensemble.history]
            for split, dataset in (("validation", at[1]), ("test", at[2])):
                prediction = ensemble.predict(dataset.features, dataset.types)[0]
                scores += _scores("glassmlp", dataset, prediction, split, label)
            context.log.info(f"GlassMLP {done}/{len(train.state_points())}: T={temperature:g}, ⟨C_B⟩={cb:g}")
        mlflow.log_params({"device": trained[0].device, "training_threads": trained[0].threads})
        _log_history(history, lambda stage: True)  # every state point's ensemble is part of the registered model
        mlflow.log_params(_descriptor_params(next(iter(ensembles.values()))))
        predict_test = _glassmlp_predictor(ensembles)
        scores += _baseline_scores(train, test, data.feature_names, label)
        test_predictions = predict_test(test)
        n_networks = sum(e.n_members for e in ensembles.values())
        metrics = _training_metrics(scores, "glassmlp", label) | {"n_networks_trained": float(n_networks),
                                                                  "n_networks_kept": float(n_networks)}
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        state_point_runs = _log_state_point_runs(mlflow_tracking, "glassmlp", label, scores,
                                                 _cb_errors(test, test_predictions), training.n_glassmlp_networks, tags)
        # before a version is registered: a failed blocking check registers nothing
        checks = evaluate_before_commit(
            GLASSMLP_CHECKS, context, scores=pl.DataFrame(scores), test_predictions=test_predictions, subset=label
        )
        figure = _map_figure(warehouse.get(), system, data, int(test.configuration[0]), predict_test, "GlassMLP",
                             loaded.types)
        mlflow.log_figure(figure, MAPS_ARTIFACT)
        registered = _register(
            context, mlflow_tracking, ensembles, data, glassmlp_model_name(system), GLASSMLP_CODE_VERSION, system,
            loaded.types,
        )
        run_id = run.info.run_id
    return _result(
        context,
        study,
        warehouse,
        mlflow_tracking,
        experiment_id,
        run_id,
        glassmlp_model_name(system),
        registered,
        scores,
        figure,
        {"n_state_points": len(ensembles), "particle_types": label},
        checks,
        state_point_runs,
    )


def _glassmlp_predictor(ensembles: dict) -> PredictFn:
    def predict(dataset: PropensityDataset) -> np.ndarray:
        out = np.full(len(dataset), np.nan)
        for (temperature, cb), ensemble in ensembles.items():
            at = dataset.at_state_point(temperature, cb)
            if at.any():
                out[at] = ensemble.predict(dataset.features[at], dataset.types[at])[0]
        return out

    return predict


def _tglassmlp_predictor(ensemble: TGlassMLPEnsemble) -> PredictFn:
    """Prediction at each row's nominal state-point input (scores of [J] at labelled state points)."""

    def predict(dataset: PropensityDataset) -> np.ndarray:
        state = torch.from_numpy(np.column_stack([dataset.temperature, dataset.target_cb])).float()
        with torch.inference_mode():
            members = ensemble(torch.from_numpy(dataset.features), torch.from_numpy(dataset.types), state)
        return members.mean(0).numpy().astype(np.float64)

    return predict


def attention_diagnostics(ensemble: TGlassMLPEnsemble, state_points: np.ndarray) -> pl.DataFrame:
    """Per requested state point: the attention's entropy −Σ_k w_k ln w_k and largest weight (mean over members;
    a sharp softmax on extrapolation shows as a falling entropy) and the distance of 1/T outside the training
    temperatures in training spans."""
    training = ensemble.notes.get("training_temperatures") or sorted({t for t, _ in ensemble.notes.get(
        "trained_state_points", [])})
    rows = []
    for temperature, cb in np.unique(np.asarray(state_points, dtype=np.float64).reshape(-1, 2), axis=0):
        weights = ensemble.attention_weights(float(temperature), float(cb))
        entropy = -(weights * np.log(np.clip(weights, 1e-300, None))).sum(axis=1)
        rows.append({
            "temperature": float(temperature), "target_cb": float(cb),
            "attention_entropy": float(entropy.mean()), "attention_max_weight": float(weights.max(axis=1).mean()),
            "uniform_entropy": float(np.log(weights.shape[1])),
            "extrapolation_spans": extrapolation_spans(float(temperature), training) if training else None,
        })
    return pl.DataFrame(rows)


def tglassmlp_model(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """The tGlassMLP [J], one network over all state points, as an MLflow run, a registered model and its test
    scores."""
    system = get_system(context.partition_key).name
    loaded = load_study(study, warehouse, system)
    data, training, label = loaded.data, loaded.training, loaded.type_label
    train, validation, test = study_splits(loaded)
    # [J] distils the training configurations only: test and validation structures never enter training
    distil = None
    if data.unlabelled is not None:
        distil = data.unlabelled.subset(np.isin(data.unlabelled.configuration, np.unique(train.configuration)))
    experiment_id, run = _start_run(mlflow_tracking, context, "tglassmlp", system)
    tags = {"system": system, "model_kind": "tglassmlp", "profile": study.profile, "particle_types": label}
    with run:
        mlflow.set_tags({**tags, "level": "training"})
        mlflow.log_params(_run_params(loaded, "tglassmlp", train, validation, test))
        log_split_datasets(warehouse.path, system, data, {"training": train, "validation": validation, "test": test})
        context.log.info(
            f"tGlassMLP on {len(train)} training rows (types {label}), {0 if distil is None else len(distil)} rows "
            f"to distil ({loaded.distillation}); {training.n_networks} networks"
        )
        [trained] = train_networks(context, study, simulation, "tglassmlp", [{
            "train": train, "validation": validation, "unlabelled": distil, "settings": training,
            "feature_names": data.feature_names, "n_types": get_system(system).n_types,
            "particle_types": loaded.types, "requested_state_points": data.requested_state_points,
            "distil_unlabelled_temperatures": loaded.distillation == "every_temperature",
        }], "tGlassMLP")
        result = trained.result
        mlflow.log_params({"device": trained.device, "training_threads": trained.threads})
        ensemble = result.ensemble
        _log_history(result.history, lambda stage: stage == "tglassmlp")  # step 2: the registered networks
        mlflow.log_params(_descriptor_params(ensemble))
        predict = _tglassmlp_predictor(ensemble)
        scores = []
        for split, dataset in (("validation", validation), ("test", test)):
            scores += _scores("tglassmlp", dataset, predict(dataset), split, label)
        scores += _baseline_scores(train, test, data.feature_names, label)
        test_predictions = predict(test)
        diagnostics = attention_diagnostics(ensemble, data.requested_state_points)
        metrics = _training_metrics(scores, "tglassmlp", label)
        metrics |= {"n_networks_kept": float(ensemble.n_members), "n_networks_trained": float(training.n_networks)}
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        state_point_runs = _log_state_point_runs(mlflow_tracking, "tglassmlp", label, scores,
                                                 _cb_errors(test, test_predictions), ensemble.n_members, tags)
        mlflow.log_table(diagnostics.to_pandas(), "attention_by_state_point.json")
        # before a version is registered: a failed blocking check registers nothing
        checks = evaluate_before_commit(
            TGLASSMLP_CHECKS,
            context,
            scores=pl.DataFrame(scores),
            test_predictions=test_predictions,
            self_consistency_warning=bool(result.self_consistency_warning),
            subset=label,
        )
        consistency = pl.DataFrame([c.__dict__ for c in result.checks]) if result.checks else pl.DataFrame()
        if consistency.height:
            mlflow.log_table(consistency.to_pandas(), "self_consistency.json")
        mlflow.log_dict(ensemble.notes, "training_notes.json")
        figure = _map_figure(warehouse.get(), system, data, int(test.configuration[0]), predict, "tGlassMLP",
                             loaded.types)
        mlflow.log_figure(figure, MAPS_ARTIFACT)
        registered = _register(
            context,
            mlflow_tracking,
            {None: ensemble},
            data,
            tglassmlp_model_name(system),
            TGLASSMLP_CODE_VERSION,
            system,
            loaded.types,
        )
        run_id = run.info.run_id
    if result.self_consistency_warning:
        context.log.warning("no tGlassMLP network was self-consistent; the best one was kept (see training_notes)")
    return _result(
        context,
        study,
        warehouse,
        mlflow_tracking,
        experiment_id,
        run_id,
        tglassmlp_model_name(system),
        registered,
        scores,
        figure,
        {
            "particle_types": label,
            "n_networks_kept": ensemble.n_members,
            "n_networks_trained": training.n_networks,
            "self_consistency_warning": bool(result.self_consistency_warning),
            "distillation": loaded.distillation,
            "distilled_state_points": MetadataValue.json(ensemble.notes.get("distilled_state_points", [])),
            "skipped_equal_cb": MetadataValue.json(result.skipped_cb),
            "dropped_descriptors": MetadataValue.json(ensemble.notes.get("dropped_descriptors", [])),
            "attention_by_state_point": MetadataValue.md(plots.markdown_table(diagnostics)),
        },
        checks,
        state_point_runs,
    )


GLASSMLP_MODELS = AssetTemplate(
    body=glassmlp_models,
    profile_settings=("base_seed", "propensity_learning"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("mlp_descriptors"), Upstream("state_point_labels")),
    checks=GLASSMLP_CHECKS,
    kinds=frozenset({"pytorch", "mlflow"}),
    group_name="propensity_learning",
    code_version=GLASSMLP_CODE_VERSION,
)


TGLASSMLP_MODEL = AssetTemplate(
    body=tglassmlp_model,
    profile_settings=("base_seed", "propensity_learning"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("mlp_descriptors"), Upstream("state_point_labels")),
    checks=TGLASSMLP_CHECKS,
    kinds=frozenset({"pytorch", "mlflow"}),
    group_name="propensity_learning",
    code_version=TGLASSMLP_CODE_VERSION,
)
