"""The ``glassmlp_models`` asset: GlassMLP [G] ensembles, one per labelled state point, trained on the study's split,
scored, logged to MLflow and registered as ``glassmlp_<system>``."""

import mlflow
import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher
from glass_assets.propensity_learning.checks import GLASSMLP_CHECKS
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
from glass_assets.registry.propensity import glassmlp_model_name
from glass_assets.registry.propensity_runs import log_history, log_state_point_runs, start_run, training_metrics
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import GLASSMLP_CODE_VERSION
from glass_core.learning.mlp_data import PropensityDataset
from glass_core.models.systems import get_system

__all__ = ["GLASSMLP_MODELS", "glassmlp_models"]


def _state(temperature: float, cb: float) -> str:
    return f"T{temperature:g}_cb{cb:g}"


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
    experiment_id, run = start_run(mlflow_tracking, context, "glassmlp", system)
    ensembles, scores, history = {}, [], []
    tags = {"system": system, "model_kind": "glassmlp", "profile": study.profile, "particle_types": label}
    with run:
        mlflow.set_tags({**tags, "level": "training"})
        mlflow.log_params(run_params(loaded, "glassmlp", train, validation, test))
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
                scores += score_rows("glassmlp", dataset, prediction, split, label)
            context.log.info(f"GlassMLP {done}/{len(train.state_points())}: T={temperature:g}, ⟨C_B⟩={cb:g}")
        mlflow.log_params({"device": trained[0].device, "training_threads": trained[0].threads})
        log_history(history, lambda stage: True)  # every state point's ensemble is part of the registered model
        mlflow.log_params(descriptor_params(next(iter(ensembles.values()))))
        predict_test = _glassmlp_predictor(ensembles)
        scores += baseline_score_rows(train, test, data.feature_names, label)
        test_predictions = predict_test(test)
        n_networks = sum(e.n_members for e in ensembles.values())
        metrics = training_metrics(scores, "glassmlp", label) | {"n_networks_trained": float(n_networks),
                                                                  "n_networks_kept": float(n_networks)}
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        state_point_runs = log_state_point_runs(mlflow_tracking, "glassmlp", label, scores,
                                                 cb_errors(test, test_predictions), training.n_glassmlp_networks, tags)
        # before a version is registered: a failed blocking check registers nothing
        checks = evaluate_before_commit(
            GLASSMLP_CHECKS, context, scores=pl.DataFrame(scores), test_predictions=test_predictions, subset=label
        )
        figure = map_figure(warehouse.get(), system, data, int(test.configuration[0]), predict_test, "GlassMLP",
                             loaded.types)
        mlflow.log_figure(figure, MAPS_ARTIFACT)
        registered = register(
            context, mlflow_tracking, ensembles, data, glassmlp_model_name(system), GLASSMLP_CODE_VERSION, system,
            loaded.types,
        )
        run_id = run.info.run_id
    return materialize_result(
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
