"""The ``tglassmlp_model`` asset: the tGlassMLP [J], networks over all state points (self-consistent ones kept, after
the distillation networks), trained on the study's split, scored, logged to MLflow with its attention diagnostics
and registered as ``tglassmlp_<system>``."""

import mlflow
import numpy as np
import polars as pl
import torch
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.checks import TGLASSMLP_CHECKS
from glass_assets.propensity_learning.datasets import log_split_datasets
from glass_assets.propensity_learning.scoring import baseline_score_rows, cb_errors, score_rows
from glass_assets.propensity_learning.study_inputs import load_study, study_splits
from glass_assets.propensity_learning.training_runs import (
    MAPS_ARTIFACT,
    PredictFn,
    descriptor_params,
    map_figure,
    materialize_result,
    register,
    run_params,
    train_networks,
)
from glass_assets.registry.propensity import tglassmlp_model_name
from glass_assets.registry.propensity_runs import log_history, log_state_point_runs, start_run, training_metrics
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import TGLASSMLP_CODE_VERSION
from glass_core.learning.mlp_data import PropensityDataset, extrapolation_spans
from glass_core.learning.tglassmlp import TGlassMLPEnsemble, attention_entropy
from glass_core.models.systems import get_system

__all__ = ["TGLASSMLP_MODEL", "attention_diagnostics", "tglassmlp_model"]


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
        entropy = attention_entropy(weights)
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
    experiment_id, run = start_run(mlflow_tracking, context, "tglassmlp", system)
    tags = {"system": system, "model_kind": "tglassmlp", "profile": study.profile, "particle_types": label}
    with run:
        mlflow.set_tags({**tags, "level": "training"})
        mlflow.log_params(run_params(loaded, "tglassmlp", train, validation, test))
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
        log_history(result.history, lambda stage: stage == "tglassmlp")  # step 2: the registered networks
        mlflow.log_params(descriptor_params(ensemble))
        predict = _tglassmlp_predictor(ensemble)
        scores = []
        for split, dataset in (("validation", validation), ("test", test)):
            scores += score_rows("tglassmlp", dataset, predict(dataset), split, label)
        scores += baseline_score_rows(train, test, data.feature_names, label)
        test_predictions = predict(test)
        diagnostics = attention_diagnostics(ensemble, data.requested_state_points)
        metrics = training_metrics(scores, "tglassmlp", label)
        metrics |= {"n_networks_kept": float(ensemble.n_members), "n_networks_trained": float(training.n_networks)}
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        state_point_runs = log_state_point_runs(mlflow_tracking, "tglassmlp", label, scores,
                                                 cb_errors(test, test_predictions), ensemble.n_members, tags)
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
        figure = map_figure(warehouse.get(), system, data, int(test.configuration[0]), predict, "tGlassMLP",
                             loaded.types)
        mlflow.log_figure(figure, MAPS_ARTIFACT)
        registered = register(
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
    return materialize_result(
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
