"""``cnn_classifier`` [O]: the CNN that tells a system's liquids (T_L) from its glasses (T_G), trained through the
launcher, logged as an MLflow run and registered; the champion alias moves on validation accuracy only."""

import json
from dataclasses import asdict

import mlflow
import numpy as np
import torch
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)
from mlflow.models import infer_signature

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher, training_scratch
from glass_assets.liquid_glass import plots
from glass_assets.liquid_glass.checks import CNN_CHECKS
from glass_assets.plots import figure_metadata
from glass_assets.registry.cnn_split import (
    GatedClassifier,
    accuracy_metrics,
    gridding_for,
    labelled_configurations,
    split_accuracies,
    split_parameters,
    train_with_settings,
)
from glass_assets.registry.tracking import (
    MLflowResource,
    model_name,
    promote_if_not_worse,
)
from glass_assets.registry.training_datasets import image_rows, log_training_datasets
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import (
    CNN_CODE_VERSION,
    code_version_tag,
)
from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    deterministic_split,
    evaluate,
)
from glass_core.models.systems import get_system

EXPERIMENT = "liquid_vs_glass_cnn"
#: the registry's ``champion`` moves on this metric (validation set); test accuracy is reported, never used
SELECTION_METRIC = "validation_accuracy"


def cnn_classifier(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """The CNN that tells the system's liquids (T_L) from its glasses (T_G), as an MLflow run and a registered model
    version."""
    system = context.partition_key
    profile = study.load()
    cfg = profile.cnn
    configs, labels, samples, keys = labelled_configurations(warehouse.get(), system)
    gridding = gridding_for(system, cfg)
    images = gridding.images(configs)
    split = deterministic_split(samples, cfg.split_fractions, cfg.seed)
    if len(split.validation) == 0:
        raise ValueError(
            f"cnn.split_fractions {list(cfg.split_fractions)} leave no validation glasses among "
            f"{len(set(samples.tolist()))} quench runs: the champion is chosen on validation accuracy"
        )
    # bad input stops here, before any training, MLflow run or model version: a split that cannot choose a
    # champion or ever pass the classifier gate
    validation_labels = labels[split.validation]
    cfg.gate.check_split(
        int(np.sum(validation_labels == LIQUID)),
        int(np.sum(validation_labels == GLASS)),
        where=(
            f"the validation split of {system} ({len(set(samples.tolist()))} quench runs, cnn.split_fractions "
            f"{list(cfg.split_fractions)})"
        ),
    )
    client = mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    temps = get_system(system).temperatures
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{system}-{context.run.run_id[:8]}") as run:
        mlflow.set_tags(
            {
                "system": system,
                "profile": profile.name,
                "dagster_run_id": context.run.run_id,
                "data.partitions": json.dumps([f"{system}|{temps['liquid']!r}", f"{system}|{temps['glass']!r}"]),
                "data.warehouse": warehouse.path,
                "code_version": code_version_tag(CNN_CODE_VERSION),
            }
        )
        mlflow.log_params(
            {
                "input_kind": cfg.input_kind,
                "n_channels": gridding.n_channels,
                "grid": cfg.grid,
                "kernel_width": cfg.kernel_width,
                "epochs": cfg.epochs,
                "batch_size": cfg.batch_size,
                "learning_rate": cfg.learning_rate,
                **split_parameters(cfg),
                "conv_channels": json.dumps(list(cfg.conv_channels)),
                "hidden": cfg.hidden,
                "dropout": cfg.dropout,
                "kernel_size": cfg.kernel_size,
                "head": cfg.head,
                "weight_decay": cfg.weight_decay,
                "standardise": cfg.standardise,
                "augment": cfg.augment,
                "validate_every": cfg.validate_every,
                "n_particles": configs[0].n_particles,
                "t_liquid": temps["liquid"],
                "t_glass": temps["glass"],
                "n_train": len(split.train),
                "n_validation": len(split.validation),
                "n_test": len(split.test),
                "selection_metric": SELECTION_METRIC,
                "gate_accuracy": cfg.gate_accuracy,
                "min_validation_per_class": cfg.min_validation_per_class,
            }
        )
        frames, queries = image_rows(system, keys, labels, split)  # the quenched configurations behind the images
        log_training_datasets(frames, name=f"cnn_images_{system}", source=warehouse.path, queries=queries,
                              targets="label")

        def on_epoch(record) -> None:  # noqa: ANN001 - glass_core.learning.cnn.EpochRecord
            values = {
                "train_loss": record.train_loss,
                "train_accuracy": record.train_accuracy,
                "validation_loss": record.validation_loss,
                "validation_accuracy": record.validation_accuracy,
            }
            # epochs without a validation pass (cnn.validate_every) log the training metrics only
            mlflow.log_metrics({k: v for k, v in values.items() if np.isfinite(v)}, step=record.epoch)
            if record.epoch % 10 == 0 or record.epoch == cfg.epochs:
                context.log.info(
                    f"epoch {record.epoch}/{cfg.epochs}: loss {record.train_loss:.4f}, "
                    f"validation accuracy {record.validation_accuracy:.3f}"
                )

        scratch = training_scratch(study.scratch_dir, "cnn_classifier", system)
        launched = train_with_settings(simulation, scratch, profile.compute, images, labels, split, cfg, on_epoch,
                                       context.log)
        mlflow.log_params({"device": launched.device, "training_threads": launched.threads})
        trained = launched.result
        # the final model on both held-out subsets; only validation chooses the champion
        validation = evaluate(trained.model, images[split.validation], labels[split.validation])
        test = evaluate(trained.model, images[split.test], labels[split.test])
        accuracies = split_accuracies(validation, "validation") | split_accuracies(test, "test")
        classifier = GatedClassifier(accuracies["validation"], cfg.gate, f"{system} CNN")
        # every accuracy with its n, binomial SE and Wilson interval (2 SE); the gate's verdict as a 0/1 metric
        metrics = accuracy_metrics(accuracies) | {"classifier_resolved": float(classifier.resolved)}
        mlflow.log_metrics(metrics, step=cfg.epochs)
        mlflow.set_tag("classifier_status", classifier.status)
        fractions = {k: v for k, v in metrics.items() if k.startswith(("validation_accuracy", "test_accuracy"))}
        # before the model is logged and registered: a rejected network never becomes a model version
        checks = evaluate_before_commit(
            CNN_CHECKS,
            context,
            history=trained.history,
            metrics=fractions,
            split_labels={
                "train": labels[split.train], "validation": labels[split.validation], "test": labels[split.test]
            },
            classifier=classifier,
        )
        mlflow.log_dict(
            {"rows": ["liquid", "glass"], "columns": ["liquid", "glass"], "counts": test.confusion.tolist()},
            "confusion_matrix.json",
        )
        mlflow.log_dict({name: [list(keys[i]) for i in rows] for name, rows in asdict(split).items()}, "split.json")
        curve = plots.training_curves(trained.history, f"{system} CNN")
        mlflow.log_figure(curve, "training_curves.png")
        example = images[split.test[:2]]
        signature = infer_signature(example, trained.model(torch.from_numpy(example)).detach().numpy())
        logged = mlflow.pytorch.log_model(
            trained.model, name="model", signature=signature, input_example=example, serialization_format="pickle"
        )
        version = mlflow.register_model(logged.model_uri, model_name(system)).version
        client.set_model_version_tag(model_name(system), version, "classifier_status", classifier.status)
        client.set_model_version_tag(
            model_name(system), version, "validation_accuracy", accuracies["validation"].text()
        )
        alias, previous = promote_if_not_worse(
            client, model_name(system), version, SELECTION_METRIC, min_per_class=cfg.min_validation_per_class
        )
    context.log.info(
        f"{model_name(system)} v{version} ({cfg.input_kind} input, {cfg.head} head): validation accuracy "
        f"{accuracies['validation'].text()} → alias {alias}; test accuracy {accuracies['test'].text()} (reported, "
        "not used to choose)"
    )
    if not classifier.resolved:
        context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
    return MaterializeResult(
        check_results=checks,
        metadata={
            # every accuracy with its binomial SE and its n (the Wilson intervals are in the `accuracies` table)
            **{k: float(v) for k, v in metrics.items() if not k.endswith(("_wilson_low", "_wilson_high"))},
            "accuracies": MetadataValue.md(plots.accuracy_markdown(accuracies, cfg.gate)),
            **classifier.metadata(),
            "confusion_matrix": MetadataValue.md(plots.confusion_markdown(test.confusion)),
            "mlflow_run": MetadataValue.url(mlflow_tracking.ui_link(experiment_id, run.info.run_id)),
            "mlflow_run_id": run.info.run_id,
            "model": f"{model_name(system)} v{version}",
            "alias": alias,
            "selection_metric": SELECTION_METRIC,
            "previous_champion_validation_accuracy": previous if previous is not None else float("nan"),
            "input_kind": cfg.input_kind,
            "head": cfg.head,
            "n_train": len(split.train),
            "n_validation": len(split.validation),
            "n_test": len(split.test),
            **figure_metadata(curve, study.plot_path("cnn_classifier", f"{system}_training.png")),
        },
    )


CNN_CLASSIFIER = AssetTemplate(
    body=cnn_classifier,
    profile_settings=("cnn",),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("quenched_ensembles"),),
    checks=CNN_CHECKS,
    kinds=frozenset({"pytorch", "mlflow"}),
    group_name="liquid_glass",
    code_version=CNN_CODE_VERSION,
)
